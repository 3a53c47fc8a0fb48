/**
 * Offers: how a sharer makes sure a file is held by someone else before it counts on it. The
 * sharer offers a file to a peer; a peer that keeps files (an always-on Node peer) fetches the
 * manifest, and for a full offer the whole file, from the offerer first, and acknowledges each
 * stage. A peer that keeps no files refuses.
 */
import { createLogger } from '../../net/logger.ts'
import { AbortError, type PeerIdString, type PeerNet } from '../../net/index.ts'
import { FileQuotaError } from './errors.ts'
import { ensureManifest } from './manifest-fetch.ts'
import type { ChunkStore } from './store.ts'
import { decodeFileFrame, encodeFileFrame, type FileFrame } from './wire.ts'

const log = createLogger('parley:core:files:offers')

/** Offers `id` to `peer`; resolves with the last stage it acknowledged. */
export async function offerTo(
  net: PeerNet,
  peer: PeerIdString,
  id: string,
  full: boolean,
  signal?: AbortSignal,
): Promise<'manifest' | 'complete' | undefined> {
  let stage: 'manifest' | 'complete' | undefined
  const req = encodeFileFrame({ type: 'offer', id, full })
  for await (const bytes of net.request(peer, req, signal === undefined ? {} : { signal })) {
    const f = decodeFileFrame(bytes)
    if (f.type === 'ack' && f.id === id) stage = f.stage
  }
  return stage
}

/**
 * Offers `id` to every connected peer (and to peers as they connect) until one acknowledges
 * `stage`; resolves with that peer. A peer whose offer failed is offered again when it reconnects.
 */
export function waitHeld(
  net: PeerNet,
  id: string,
  stage: 'manifest' | 'complete',
  signal: AbortSignal,
): Promise<PeerIdString> {
  const tried = new Set<PeerIdString>()
  return new Promise((resolve, reject) => {
    const done = (): void => {
      off()
      signal.removeEventListener('abort', onAbort)
    }
    const onAbort = (): void => {
      done()
      reject(new AbortError())
    }
    const tryPeers = (peers: readonly PeerIdString[]): void => {
      for (const p of peers) {
        if (tried.has(p)) continue
        tried.add(p)
        offerTo(net, p, id, stage === 'complete', signal).then(
          (got) => {
            if (got !== stage && got !== 'complete') return
            done()
            resolve(p)
          },
          (err: unknown) => {
            tried.delete(p)
            log('offer of %s to %s failed: %e', id, p, err)
          },
        )
      }
    }
    const off = net.onPeers(tryPeers)
    signal.addEventListener('abort', onAbort, { once: true })
    tryPeers(net.peers())
  })
}

/** What answering an offer needs of the file service. */
export interface OfferHost {
  net: PeerNet
  store: ChunkStore
  sha256: (data: Uint8Array) => Uint8Array
  /** Whether this peer keeps others' files (an always-on peer); else every offer is refused. */
  retain: boolean
  fetch(id: string, opts: { pinned: boolean; signal: AbortSignal }): Promise<void>
  /** Keep `id` in the background (fetched whole later, evictable). */
  keep(id: string): void
}

/** The answer to `from`'s offer of `id`: an ack per stage reached, or a file error. */
export async function* answerOffer(
  host: OfferHost,
  id: string,
  from: PeerIdString,
  full: boolean,
  signal: AbortSignal,
): AsyncGenerator<FileFrame> {
  if (!host.retain) return yield { type: 'file-error', id, code: 'refused' }
  try {
    // Ask the offerer first: it holds the file.
    await ensureManifest({
      id,
      net: host.net,
      store: host.store,
      sha256: host.sha256,
      holders: () => [from, ...host.net.peers().filter((p) => p !== from)],
      pinned: false,
      signal,
    })
    yield { type: 'ack', id, stage: 'manifest' }
    if (!full) return host.keep(id)
    await host.fetch(id, { pinned: false, signal })
    yield { type: 'ack', id, stage: 'complete' }
  } catch (err) {
    log('offer of %s from %s failed: %e', id, from, err)
    yield { type: 'file-error', id, code: err instanceof FileQuotaError ? 'refused' : 'failed' }
  }
}
