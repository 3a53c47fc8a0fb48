/**
 * What we know other peers hold: per peer and room, the highest seq of each author chain they
 * told us about (in pull heads or push acknowledgements). "Delivered" means some other peer
 * holds it.
 */
import type { PeerIdString } from '../net/index.ts'
import type { VerifiedEntry } from '../crdt/chain.ts'
import type { Verified } from './room-history.ts'

interface Waiter {
  room: string
  author: string
  seq: number
  resolve: (peer: PeerIdString) => void
}

export class HeadsBook {
  readonly #known = new Map<string, Map<string, number>>()
  readonly #waiters = new Set<Waiter>()

  /** Records that `peer` holds, in `room`, each author (hex) up to the given seq. */
  record(peer: PeerIdString, room: string, heads: ReadonlyMap<string, number>): void {
    for (const [author, seq] of heads) {
      const key = `${peer}\u0000${room}`
      let m = this.#known.get(key)
      if (m === undefined) this.#known.set(key, (m = new Map()))
      if (seq > (m.get(author) ?? 0)) m.set(author, seq)
      for (const w of this.#waiters) {
        if (w.room === room && w.author === author && seq >= w.seq) {
          this.#waiters.delete(w)
          w.resolve(peer)
        }
      }
    }
  }

  /** The peers known to hold `author`'s chain in `room` up to `seq`. */
  holders(room: string, author: string, seq: number): PeerIdString[] {
    const out: PeerIdString[] = []
    for (const [key, m] of this.#known) {
      const [peer, r] = key.split('\u0000') as [PeerIdString, string]
      if (r === room && (m.get(author) ?? 0) >= seq) out.push(peer)
    }
    return out
  }

  /** Resolves with the first peer that holds `author`'s `seq` in `room`. */
  waitFor(room: string, author: string, seq: number, signal?: AbortSignal): Promise<PeerIdString> {
    const [known] = this.holders(room, author, seq)
    if (known !== undefined) return Promise.resolve(known)
    return new Promise((resolve, reject) => {
      const w: Waiter = { room, author, seq, resolve }
      this.#waiters.add(w)
      signal?.addEventListener(
        'abort',
        () => {
          this.#waiters.delete(w)
          reject(signal.reason)
        },
        { once: true },
      )
    })
  }

  forget(peer: PeerIdString): void {
    for (const key of this.#known.keys())
      if (key.startsWith(`${peer}\u0000`)) this.#known.delete(key)
  }
}

/** A chain-verified entry in the form the history stores. */
export function toVerified(v: VerifiedEntry): Verified {
  return {
    entry: v.entry,
    stored: {
      author: v.entry.author,
      seq: v.entry.seq,
      hash: v.hash,
      period: v.entry.period,
      bytes: v.bytes,
    },
  }
}
