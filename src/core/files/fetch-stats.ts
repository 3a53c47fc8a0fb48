/**
 * Where a fetch's time went, per holder: chunks and bytes it served, and the receiver's time
 * waiting for its next chunk (network and holder), checking chunks (SHA-256) and storing them.
 * The fetch logs it when it ends (`DEBUG=parley:core:files:fetch`, or `localStorage.debug` in a
 * browser); `bench/browser-files.ts` reads it from there.
 */
import type { PeerIdString } from '../../net/index.ts'

export interface HolderStats {
  chunks: number
  bytes: number
  /** Summed over the requests in flight, so it can exceed the transfer's wall time. */
  waitMs: number
  hashMs: number
  writeMs: number
}

export class FetchStats {
  readonly #t0 = performance.now()
  readonly #holders = new Map<PeerIdString, HolderStats>()

  of(peer: PeerIdString): HolderStats {
    let s = this.#holders.get(peer)
    if (s === undefined) {
      s = { chunks: 0, bytes: 0, waitMs: 0, hashMs: 0, writeMs: 0 }
      this.#holders.set(peer, s)
    }
    return s
  }

  /** One line: `12.3 s; <peer…8>: 40 chunks 41.9 MB wait 9.1 s hash 0.4 s store 2.2 s; …` */
  summary(): string {
    const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
    const parts = [secs(performance.now() - this.#t0)]
    for (const [peer, s] of this.#holders) {
      if (s.chunks === 0 && s.waitMs === 0) continue
      parts.push(
        `${peer.slice(-8)}: ${s.chunks} chunks ${(s.bytes / 1e6).toFixed(1)} MB wait ${secs(s.waitMs)}` +
          ` hash ${secs(s.hashMs)} store ${secs(s.writeMs)}`,
      )
    }
    return parts.join('; ')
  }
}
