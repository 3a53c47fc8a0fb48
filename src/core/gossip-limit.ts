/**
 * The gossip rate limit every peer runs with (src/net/gossip-limit.ts), counted per peer and per
 * signing key: the author of a pushed entry, the device of a presence announcement. A flooding
 * member is cut at the first peer it reaches, and a peer relaying for many (a Node peer) is
 * limited per author, not as one sender. The key is read before the signature is checked; a
 * forged key spends only the buckets of the peer that sent it.
 */
import { DEFAULT_GOSSIP_LIMIT, type GossipLimit } from '../net/index.ts'
import { decodeFrame } from '../crdt/wire.ts'
import { hex } from './store.ts'

/** The signing key a gossip message claims, or undefined (counted per peer alone). */
export function gossipSenderKey(_topic: string, data: Uint8Array): string | undefined {
  try {
    const f = decodeFrame(data)
    if (f.type === 'push') return hex(f.head.author)
    if (f.type === 'presence') return hex(f.author)
  } catch {
    // not a sync frame (typing, room announcements) or malformed: the core drops it later
  }
  return undefined
}

export const GOSSIP_LIMIT: GossipLimit = { ...DEFAULT_GOSSIP_LIMIT, keyOf: gossipSenderKey }
