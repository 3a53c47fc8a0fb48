/**
 * At most `limit` things at once per peer; the rest wait their turn, in the order they asked.
 *
 * Requests to one peer go through it: a peer refuses sync streams beyond its own cap
 * (`MAX_INBOUND_SYNC_STREAMS`, per connection), and a request it refuses fails at once — a digest
 * naming 200 rooms we lack scheduled 200 pulls, and those beyond the cap, the one room that
 * mattered among them, failed and waited for the next anti-entropy round.
 */
import { AbortError } from './errors.ts'

interface Waiter {
  readonly grant: () => void
}

interface Peer {
  held: number
  readonly waiting: Set<Waiter>
}

export class PeerSlots {
  readonly #limit: number
  readonly #peers = new Map<string, Peer>()

  constructor(limit: number) {
    if (!(limit >= 1)) throw new RangeError(`slot limit must be at least 1, got ${limit}`)
    this.#limit = limit
  }

  /** Slots held for `peer` now (tests). */
  held(peer: string): number {
    return this.#peers.get(peer)?.held ?? 0
  }

  /**
   * Resolves with the release of one of `peer`'s slots once one is free; rejects with AbortError
   * if `signal` aborts first (its place in the line is given up). Release exactly once.
   */
  async acquire(peer: string, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted === true) throw new AbortError()
    let p = this.#peers.get(peer)
    if (p === undefined) {
      p = { held: 0, waiting: new Set() }
      this.#peers.set(peer, p)
    }
    const at = p
    const release = (): void => this.#release(peer, at)
    if (at.held < this.#limit) {
      at.held++
      return once(release)
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        at.waiting.delete(waiter)
        this.#forget(peer, at)
        reject(new AbortError())
      }
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve(once(release))
        },
      }
      at.waiting.add(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  #release(peer: string, p: Peer): void {
    const [next] = p.waiting
    if (next !== undefined) {
      // the slot passes straight to the next in line
      p.waiting.delete(next)
      next.grant()
      return
    }
    p.held--
    this.#forget(peer, p)
  }

  #forget(peer: string, p: Peer): void {
    if (p.held === 0 && p.waiting.size === 0 && this.#peers.get(peer) === p)
      this.#peers.delete(peer)
  }
}

function once(f: () => void): () => void {
  let done = false
  return () => {
    if (done) return
    done = true
    f()
  }
}
