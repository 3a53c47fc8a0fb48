/**
 * Peers cut off for a while: no dial to them, no connection from them (encrypted either way), until
 * the time runs out. Used for a peer that floods us with gossip we refuse (gossip.ts): rate limits
 * already keep its messages from going further, but each one still costs the transport, Noise,
 * gossipsub's decoding and hashing before it can be refused — a peer's worth of CPU at a few
 * thousand a second (docs/reliability.md, "Abuse"). Cutting its connections ends that cost.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { MAX_BLOCKED_PEERS } from './constants.ts'

export class CoolOff {
  readonly #until = new Map<string, number>()
  readonly #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  /** Keeps `peer` out for `ms` from now (the oldest entry goes beyond `MAX_BLOCKED_PEERS`). */
  add(peer: string, ms: number): void {
    this.#until.delete(peer)
    if (this.#until.size >= MAX_BLOCKED_PEERS) this.#until.delete(this.#until.keys().next().value!)
    this.#until.set(peer, this.#now() + ms)
  }

  has(peer: string): boolean {
    const until = this.#until.get(peer)
    if (until === undefined) return false
    if (until > this.#now()) return true
    this.#until.delete(peer)
    return false
  }

  /** `inner`, refusing besides dials to and encrypted connections with peers cut off. */
  gater(inner: ConnectionGater): ConnectionGater {
    const out = (peer: PeerId): boolean => this.has(peer.toString())
    return {
      ...inner,
      denyDialPeer: async (peer) => out(peer) || ((await inner.denyDialPeer?.(peer)) ?? false),
      denyInboundEncryptedConnection: async (peer, conn) =>
        out(peer) || ((await inner.denyInboundEncryptedConnection?.(peer, conn)) ?? false),
      denyOutboundEncryptedConnection: async (peer, conn) =>
        out(peer) || ((await inner.denyOutboundEncryptedConnection?.(peer, conn)) ?? false),
    }
  }
}
