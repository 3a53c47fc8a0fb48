/**
 * Per-peer rate limits on received gossip (issue #6, abuse): a token bucket for each pair of the
 * peer that handed us a message and the message's *sender key* (the caller's `keyOf`, e.g. the
 * author of a signed entry), so that:
 * - a member flooding a room is cut to `perSecond` (after a `burst`) at the first honest peer it
 *   reaches: the rest is neither delivered nor forwarded (gossipsub's Ignore, no score penalty);
 * - an honest peer that relays many authors (an always-on Node peer) is limited per author, so
 *   the flood it passes on does not spend the budget of the honest authors it also relays;
 * - forged keys only spend the forger's own buckets (the pair starts with the peer that sent it).
 *
 * A peer holds at most {@link MAX_KEYS_PER_PEER} buckets of its own keys; keys beyond share one more. Dropped
 * messages are not lost: anti-entropy pulls whatever the room's heads say is missing.
 */
import type { PeerIdString } from './index.ts'

export interface GossipLimit {
  /** Messages per second each (peer, key) pair may keep sending. */
  perSecond: number
  /** Messages a pair may send at once before the rate applies. */
  burst: number
  /** What a message is counted by, besides the peer that sent it (undefined: the peer alone). */
  keyOf?: (topic: string, data: Uint8Array) => string | undefined
}

/** The defaults: far above what people type, below what starves a peer on two cores. */
export const DEFAULT_GOSSIP_LIMIT: GossipLimit = { perSecond: 500, burst: 5_000 }

/** Buckets one peer may hold; more keys from it share the last one. */
export const MAX_KEYS_PER_PEER = 64
/**
 * Peers whose buckets are kept, the least recently limited forgotten first. Buckets outlive a
 * disconnection: a flooder that reconnects does not get a new burst.
 */
export const MAX_PEERS = 4_096
const OVERFLOW = '\0overflow'

interface Bucket {
  tokens: number
  at: number
}

interface PeerBuckets {
  buckets: Map<string, Bucket>
  dropped: number
  /** When the last "throttling" line was logged for this peer. */
  loggedAt: number
}

export class GossipLimiter {
  readonly #limit: GossipLimit
  readonly #now: () => number
  readonly #peers = new Map<PeerIdString, PeerBuckets>()

  constructor(limit: GossipLimit, now: () => number = () => performance.now()) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) {
      throw new RangeError('gossip limit: perSecond must be > 0 and burst ≥ 1')
    }
    this.#limit = limit
    this.#now = now
  }

  /**
   * Whether a message on `topic` from `peer` may pass; spends a token if so. `onThrottled` is
   * called at most every 10 s per peer with the count dropped since the last call.
   */
  take(
    peer: PeerIdString,
    topic: string,
    data: Uint8Array,
    onThrottled?: (peer: PeerIdString, key: string, dropped: number) => void,
  ): boolean {
    let p = this.#peers.get(peer)
    if (p === undefined) {
      p = { buckets: new Map(), dropped: 0, loggedAt: Number.NEGATIVE_INFINITY }
      if (this.#peers.size >= MAX_PEERS) this.#peers.delete(this.#peers.keys().next().value!)
    } else this.#peers.delete(peer) // re-inserted below: the Map's order is least recent first
    this.#peers.set(peer, p)
    let key = this.#limit.keyOf?.(topic, data) ?? ''
    if (!p.buckets.has(key) && p.buckets.size >= MAX_KEYS_PER_PEER) key = OVERFLOW
    const now = this.#now()
    let b = p.buckets.get(key)
    if (b === undefined) {
      b = { tokens: this.#limit.burst, at: now }
      p.buckets.set(key, b)
    }
    b.tokens = Math.min(this.#limit.burst, b.tokens + ((now - b.at) / 1000) * this.#limit.perSecond)
    b.at = now
    if (b.tokens >= 1) {
      b.tokens -= 1
      return true
    }
    p.dropped++
    if (now - p.loggedAt >= 10_000) {
      onThrottled?.(peer, key, p.dropped)
      p.dropped = 0
      p.loggedAt = now
    }
    return false
  }

  /** Peers with buckets (for tests and stats). */
  get size(): number {
    return this.#peers.size
  }
}
