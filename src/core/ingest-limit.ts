/**
 * Rate limits on gossip the core takes in (issue #6, abuse). Gossipsub has already delivered a
 * message (and forwarded it: this limiter never touches routing, so a relay keeps forwarding
 * honest messages whatever a flooder does); before the costly part — signature checks, storing,
 * applying — each frame spends a token of the bucket of its pair (the peer that handed it over,
 * the key it claims: a push's author, a presence's device, a typist). Over budget it is dropped
 * and counted, and the peer is logged at most once per {@link LOG_EVERY_MS}. Nothing is lost: a
 * dropped push is a gap that the next push or anti-entropy pulls, in batches.
 *
 * Per pair, so that a relay's flood does not spend the budget of the honest authors it also
 * relays, and a forger claiming an honest author's key spends only its own bucket for that key.
 */
import { createLogger } from '../net/logger.ts'
import type { PeerIdString } from '../net/index.ts'

const log = createLogger('parley:core:ingest')

export interface IngestLimit {
  /** Frames per second each (peer, key) pair may keep sending. */
  perSecond: number
  /** Frames a pair may send at once before the rate applies. */
  burst: number
}

/**
 * Far above what people type or a peer's batched pushes need (a push carries up to 256 entries),
 * far below what it costs to verify and store: a 10,000 frames/s flood is cut within 0.2 s.
 */
export const DEFAULT_INGEST_LIMIT: IngestLimit = { perSecond: 200, burst: 2_000 }

/** Keys one peer may have buckets for; further keys from it share one. */
export const MAX_KEYS_PER_PEER = 64
/** Peers whose buckets are kept (least recently seen forgotten first); they outlive a disconnect. */
export const MAX_PEERS = 4_096
/** How often a throttled peer is logged. */
export const LOG_EVERY_MS = 10_000
const OVERFLOW = '\0overflow'

interface Bucket {
  tokens: number
  at: number
}

interface PeerState {
  buckets: Map<string, Bucket>
  dropped: number
  loggedAt: number
}

export interface IngestStats {
  passed: number
  dropped: number
  /** When a frame was first dropped (the `now` clock), or undefined. */
  firstDropAt: number | undefined
}

export class IngestLimiter {
  readonly #limit: IngestLimit
  readonly #now: () => number
  readonly #peers = new Map<PeerIdString, PeerState>()
  readonly #stats: IngestStats = { passed: 0, dropped: 0, firstDropAt: undefined }

  constructor(
    limit: IngestLimit = DEFAULT_INGEST_LIMIT,
    now: () => number = () => performance.now(),
  ) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) {
      throw new RangeError('ingest limit: perSecond must be > 0 and burst ≥ 1')
    }
    this.#limit = limit
    this.#now = now
  }

  /** Whether a `kind` frame from `peer` claiming `key` may be processed; spends a token if so. */
  take(peer: PeerIdString, key: string, kind: string): boolean {
    let p = this.#peers.get(peer)
    if (p === undefined) {
      p = { buckets: new Map(), dropped: 0, loggedAt: Number.NEGATIVE_INFINITY }
      if (this.#peers.size >= MAX_PEERS) this.#peers.delete(this.#peers.keys().next().value!)
    } else this.#peers.delete(peer) // re-inserted below: the Map's order is least recent first
    this.#peers.set(peer, p)
    const k = p.buckets.has(key) || p.buckets.size < MAX_KEYS_PER_PEER ? key : OVERFLOW
    const now = this.#now()
    let b = p.buckets.get(k)
    if (b === undefined) p.buckets.set(k, (b = { tokens: this.#limit.burst, at: now }))
    b.tokens = Math.min(this.#limit.burst, b.tokens + ((now - b.at) / 1000) * this.#limit.perSecond)
    b.at = now
    if (b.tokens >= 1) {
      b.tokens -= 1
      this.#stats.passed++
      return true
    }
    p.dropped++
    this.#stats.dropped++
    this.#stats.firstDropAt ??= now
    if (now - p.loggedAt >= LOG_EVERY_MS) {
      log.error(
        'throttling %s gossip from %s (key %s): %d frames over %d/s dropped',
        kind,
        peer,
        k === OVERFLOW ? 'overflow' : k.slice(0, 16),
        p.dropped,
        this.#limit.perSecond,
      )
      p.dropped = 0
      p.loggedAt = now
    }
    return false
  }

  /**
   * A frame of this pair proved forged (a bad signature): the pair's bucket is emptied to
   * -burst, so it takes nothing for burst / perSecond seconds (10 s by default). Only the pair:
   * a relay that forwarded a forgery keeps its budget for every other author.
   */
  penalize(peer: PeerIdString, key: string): void {
    const b = this.#peers.get(peer)?.buckets.get(key)
    if (b === undefined) return
    b.tokens = -this.#limit.burst
    b.at = this.#now()
  }

  /** Whether the pair is serving a penalty (frames queued before it need no checking). */
  penalized(peer: PeerIdString, key: string): boolean {
    const b = this.#peers.get(peer)?.buckets.get(key)
    if (b === undefined) return false
    return b.tokens + ((this.#now() - b.at) / 1000) * this.#limit.perSecond < 0
  }

  /** Frames passed and dropped since start (benches and tests). */
  stats(): IngestStats {
    return { ...this.#stats }
  }

  /** Peers with buckets. */
  get size(): number {
    return this.#peers.size
  }
}
