/**
 * A file's manifest for a receiver: from the store, else from the first connected holder whose
 * bytes hash to the file's id. A peer that sends other bytes is a liar for this lookup and logged.
 * While no connected peer has it (the uploader is still connecting, an always-on peer is still
 * copying it), the lookup asks again when a peer connects, or with backoff.
 */
import { createLogger } from '../../net/logger.ts'
import { AbortError, type PeerIdString, type PeerNet } from '../../net/index.ts'
import { FileUnavailableError } from './errors.ts'
import { decodeManifest, MAX_MANIFEST_BYTES } from './manifest.ts'
import type { ChunkStore, StoredFileInfo } from './store.ts'
import { decodeFileFrame, encodeFileFrame, toHex } from './wire.ts'

const log = createLogger('parley:core:files:manifest')

export interface ManifestInit {
  id: string
  net: PeerNet
  store: ChunkStore
  sha256: (data: Uint8Array) => Uint8Array
  /** The peers to ask (connected peers of the room); called again on every pass. */
  holders: () => readonly PeerIdString[]
  /** Keep the file when the store needs room (the user asked for it). */
  pinned: boolean
  signal: AbortSignal
  /** A peer sent a manifest that does not match: it is not asked again in this lookup. */
  onLyingPeer?: (peer: PeerIdString) => void
  /** Ask again, with backoff, this long while no connected peer has the manifest. @default 0 */
  waitMs?: number
  /** Called before each wait for a peer that has the manifest. */
  onWaiting?: () => void
}

/** What the store holds of `init.id`, after fetching and storing its manifest if it had none. */
export async function ensureManifest(init: ManifestInit): Promise<StoredFileInfo> {
  const { id, store } = init
  let info = await store.get(id)
  if (info === undefined) {
    const bytes = await fetchManifest(init)
    await store.add(id, bytes, decodeManifest(bytes), { pinned: init.pinned })
    info = await store.get(id)
    if (info === undefined) throw new Error('the file vanished from the store')
  } else if (init.pinned && !info.pinned) {
    await store.add(id, (await store.manifestBytes(id))!, info.manifest, { pinned: true })
  }
  return info
}

/**
 * The manifest of `init.id` from the first holder that has it and whose bytes hash to the id. When
 * no connected peer has it yet (the uploader is still connecting, an always-on peer is still
 * copying it), asks again with backoff for up to `init.waitMs`.
 */
async function fetchManifest(init: ManifestInit): Promise<Uint8Array> {
  const deadline = Date.now() + (init.waitMs ?? 0)
  const liars = new Set<PeerIdString>()
  for (let round = 0; ; round++) {
    const bytes = await askHolders(init, liars)
    if (bytes !== undefined) return bytes
    const pause = Math.min(2_000, 250 * 2 ** round)
    if (Date.now() + pause > deadline) break
    log('no connected peer has the manifest of %s yet: asking again within %d ms', init.id, pause)
    init.onWaiting?.()
    await peersChangeOrDelay(init.net, pause, init.signal)
  }
  throw new FileUnavailableError(`No connected peer holds file ${init.id}`)
}

/** One pass over the holders (skipping `liars`, adding new ones): the manifest, or undefined. */
async function askHolders(
  init: ManifestInit,
  liars: Set<PeerIdString>,
): Promise<Uint8Array | undefined> {
  const request = encodeFileFrame({ type: 'manifest-request', id: init.id })
  for (const peer of init.holders()) {
    if (liars.has(peer)) continue
    try {
      let bytes: Uint8Array | undefined
      let filled = 0
      for await (const frame of init.net.request(peer, request, { signal: init.signal })) {
        const f = decodeFileFrame(frame)
        if (f.type !== 'manifest-part' || f.id !== init.id) break
        if (f.total > MAX_MANIFEST_BYTES || f.offset !== filled)
          throw new Error('bad manifest part')
        bytes ??= new Uint8Array(f.total)
        if (bytes.length !== f.total) throw new Error('manifest size changed')
        bytes.set(f.bytes, f.offset)
        filled += f.bytes.length
      }
      if (bytes === undefined || filled !== bytes.length) continue
      if (toHex(init.sha256(bytes)) !== init.id) {
        log.error('%s sent a manifest that does not match %s', peer, init.id)
        liars.add(peer)
        init.onLyingPeer?.(peer)
        continue
      }
      return bytes
    } catch (err) {
      if (init.signal.aborted) throw new AbortError()
      log('manifest of %s from %s failed: %e', init.id, peer, err)
    }
  }
  if (init.signal.aborted) throw new AbortError()
  return undefined
}

/**
 * Resolves when the set of connected peers changes (a holder may have just been admitted) or
 * after `ms` (a connected peer may have finished copying the file), whichever comes first;
 * rejects with AbortError as soon as `signal` aborts.
 */
function peersChangeOrDelay(net: PeerNet, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new AbortError())
    const end = (err?: Error): void => {
      clearTimeout(timer)
      off()
      signal.removeEventListener('abort', onAbort)
      if (err === undefined) resolve()
      else reject(err)
    }
    const onAbort = (): void => end(new AbortError())
    const timer = setTimeout(() => end(), ms)
    const off = net.onPeers(() => end())
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
