/**
 * The receiver's side of file transfer: fetches a file's manifest, asks every holder which chunks
 * it has, and fetches missing chunks from all of them at once (a few requests in flight per peer,
 * a few chunks per request), verifying each chunk's SHA-256 before it is stored. A peer that sends
 * a chunk that does not match is dropped for this transfer and logged; the chunk is fetched from
 * another holder. Chunks held are durable (the store's bitmap), so a fetch started again after a
 * dropped link, a restart or a kill resumes with what is missing.
 */
import { ChunkFetch, IDLE_MS, type ChunkFetchInit } from './chunk-fetch.ts'
import { heldBytes } from './store.ts'
import { ensureManifest } from './manifest-fetch.ts'

export interface FetchInit extends ChunkFetchInit {
  /** Keep the file when the store needs room (the user asked for it). */
  pinned: boolean
}

/** Fetches the whole file `init.id` into the store. Rejects with AbortError when cancelled. */
export async function fetchFile(init: FetchInit): Promise<void> {
  const info = await ensureManifest({
    ...init,
    waitMs: init.idleMs ?? IDLE_MS,
    onWaiting: () => init.meter.update({}, true), // the transfer shows while it waits
  })
  const m = info.manifest
  init.meter.update(
    { name: m.name, size: m.size, bytes: heldBytes(m, info.have), state: 'fetching' },
    true,
  )
  if (info.complete) return
  await new ChunkFetch(init, m, info.have).run()
}
