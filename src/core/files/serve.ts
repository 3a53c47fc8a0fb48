/**
 * The holder's side of file transfer: answers manifest, have and chunk requests from the chunk
 * store, streaming one frame at a time (the request protocol waits for each to drain) with the
 * next chunk's disk read under way meanwhile, and hands offers to the file service.
 */
import { createLogger } from '../../net/logger.ts'
import type { PeerIdString } from '../../net/index.ts'
import type { ChunkStore } from './store.ts'
import { hasBit } from './store.ts'
import { chunkCount, chunkLength } from './manifest.ts'
import {
  MANIFEST_PART_BYTES,
  chunkFrame,
  decodeFileFrame,
  encodeFileFrame,
  type FileFrame,
} from './wire.ts'

const log = createLogger('parley:core:files:serve')
/** A file served is marked used at most this often. */
const TOUCH_EVERY_MS = 5_000

/**
 * A {@link FileServeInit.touch} that marks each file used at most every {@link TOUCH_EVERY_MS}:
 * serving touches per request (every few MiB), and each touch is a durable write (an fsync in
 * SQLite, a read-write transaction over every IndexedDB store) that blocked the event loop or
 * queued ahead of chunk writes.
 */
export function throttledTouch(store: ChunkStore): (id: string) => void {
  const touched = new Map<string, number>()
  return (id) => {
    const now = Date.now()
    if (now - (touched.get(id) ?? Number.NEGATIVE_INFINITY) < TOUCH_EVERY_MS) return
    touched.set(id, now)
    void store.touch(id).catch((err: unknown) => log('touch of %s failed: %e', id, err))
  }
}

export interface FileServeInit {
  store: ChunkStore
  /** Marks a file as used (least recently used files are evicted first); called per request. */
  touch(id: string): void
  /** Answers an offer (the service fetches what it is offered). */
  onOffer(
    id: string,
    from: PeerIdString,
    full: boolean,
    signal: AbortSignal,
  ): AsyncIterable<FileFrame>
}

export async function* serveFileRequest(
  init: FileServeInit,
  request: Uint8Array,
  from: PeerIdString,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  let f: FileFrame
  try {
    f = decodeFileFrame(request)
  } catch (err) {
    log('malformed file request from %s: %e', from, err)
    return
  }
  const { store } = init
  const notHeld = encodeFileFrame({ type: 'file-error', id: f.id, code: 'not-held' })
  switch (f.type) {
    case 'manifest-request': {
      const bytes = await store.manifestBytes(f.id)
      if (bytes === undefined) return yield notHeld
      for (let offset = 0; offset < bytes.length || offset === 0; offset += MANIFEST_PART_BYTES) {
        const part = bytes.subarray(offset, offset + MANIFEST_PART_BYTES)
        yield encodeFileFrame({
          type: 'manifest-part',
          id: f.id,
          total: bytes.length,
          offset,
          bytes: part,
        })
        if (bytes.length === 0) break
      }
      return
    }
    case 'have-request': {
      const info = await store.get(f.id)
      if (info === undefined) return yield notHeld
      const count = chunkCount(info.manifest)
      yield encodeFileFrame({ type: 'have', id: f.id, count, bitmap: info.have })
      return
    }
    case 'chunks-request': {
      const info = await store.get(f.id)
      if (info === undefined) return yield notHeld
      const held = f.indices.findIndex((i) => !hasBit(info.have, i))
      const indices = held < 0 ? f.indices : f.indices.slice(0, held)
      // One chunk read ahead: the disk read of the next overlaps sending this one. Each is read
      // straight into its frame (no copy of the chunk into a frame).
      const read = (k: number): Promise<Uint8Array> | undefined => {
        if (k >= indices.length) return undefined
        const index = indices[k]!
        const { frame, body } = chunkFrame(f.id, index, chunkLength(info.manifest, index))
        const p = store
          .readChunk(f.id, index, body)
          // a store that ignored `into` returned the bytes elsewhere: framed with a copy
          .then((bytes) =>
            bytes === body ? frame : encodeFileFrame({ type: 'chunk', id: f.id, index, bytes }),
          )
        p.catch(() => undefined) // awaited below, or dropped when the request ends early
        return p
      }
      let next = read(0)
      for (let k = 0; next !== undefined; k++) {
        if (signal.aborted) return
        const frame = await next
        next = read(k + 1)
        yield frame
      }
      if (held >= 0) return yield notHeld
      init.touch(f.id)
      return
    }
    case 'offer':
      for await (const answer of init.onOffer(f.id, from, f.full, signal)) {
        yield encodeFileFrame(answer)
      }
      return
    default:
      log('unexpected %s request from %s', f.type, from)
      yield encodeFileFrame({ type: 'file-error', id: f.id, code: 'malformed' })
  }
}
