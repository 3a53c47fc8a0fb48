/**
 * Fewer copies of each message in a fully connected office LAN. The author flood-publishes to
 * every peer it has on the topic (gossip.ts), and every receiver forwards to its mesh peers — in a
 * full mesh a copy each of them already has from the author: ~3 more copies per message per
 * receiver, each costing a Noise seal, a socket write, a read, a Noise open and a decode (issue #6,
 * docs/benchmarks.md "1→10: where the time went"). Here a receiver does not forward a message it
 * got straight from its author to a mesh peer that has told it it hears that author directly.
 *
 * - **The origin.** Messages are unsigned (`StrictNoSign`): gossipsub carries no author. What we
 *   publish gets our peer id in the RPC's `from` field, which unsigned validation leaves alone and
 *   forwarders pass on untouched; message ids are content hashes (message-id.ts), so it changes no
 *   id, and peers without this module just ignore it. A receiver believes an origin only when it
 *   is the peer that handed the message over.
 * - **The claims.** Every second each peer looks at which peers have a gossipsub stream open to it
 *   (those send it what they publish), and when that set changes, or every 30 s, floods it to its
 *   neighbours on {@link LINKS_TOPIC}. A claim is taken only from the peer it is about, never
 *   forwarded, and dropped when that peer goes.
 * - **The cut.** Forwarding a message whose origin is the peer it came from, we leave out each mesh
 *   peer whose claim names that origin. Everyone else is forwarded to as before: a peer reached
 *   only through others (a browser behind its serving peer, a link down) still gets it.
 *
 * What a claim can get wrong costs its claimer only: a peer that claims too much is forwarded less
 * (it misses only what its claimed links fail to bring, which gossip's IHAVE and Parley's sync
 * repair), one that claims nothing is forwarded everything, as before. A link that dies without
 * either end noticing is claimed until the stream closes; what the author sends meanwhile reaches
 * that peer by the sync repair instead of by a forward. A forwarder that puts its own id in `from`
 * only keeps us from forwarding that copy to the peers it claims to reach.
 */
import { TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub'
import type { Logger, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { equalBytes } from '@noble/curves/utils.js'
import { MAX_CONNECTIONS, TOPIC_PREFIX } from './constants.ts'

/** Where each peer tells its neighbours which peers it hears directly. */
export const LINKS_TOPIC = `${TOPIC_PREFIX}/links`
/** How often a peer looks at its links (and publishes when they changed). */
export const LINKS_CHECK_MS = 1_000
/** A claim unchanged this long is published again (for a neighbour that missed it). */
export const LINKS_REFRESH_MS = 30_000
/** Claims naming more peers than this are not taken (a peer keeps at most MAX_CONNECTIONS). */
export const MAX_CLAIMED_LINKS = 2 * MAX_CONNECTIONS
/** A peer's claims closer together than this are dropped unread (an honest one makes one a second at most). */
export const CLAIM_MIN_GAP_MS = 250

/** A claim as it travels: who makes it, a counter (ids are content hashes), the peers it hears. */
interface Claim {
  peer: string
  n: number
  links: string[]
}

/** Gossipsub's internals this module uses (on its class, not on the interface it exports). */
interface RawMessage {
  from?: Uint8Array
  data?: Uint8Array
  topic: string
}
interface Internals {
  forwardMessage(
    msgIdStr: string,
    rawMsg: RawMessage,
    propagationSource?: string,
    excludePeers?: Set<string>,
  ): void
  mcache: { put(id: unknown, rawMsg: RawMessage, validated: boolean): unknown }
  mesh: Map<string, Set<string>>
  streamsInbound: Map<string, unknown>
  peers: Map<string, unknown>
  start(): Promise<void>
  stop(): Promise<void>
}

const enc = new TextEncoder()
const dec = new TextDecoder()

/** The peers a claim from `source` names, or undefined when it is not `source`'s own or malformed. */
export function parseClaim(data: Uint8Array, source: string): Set<string> | undefined {
  if (data.byteLength > MAX_CLAIMED_LINKS * 132 + 256) return undefined
  let c: Partial<Claim>
  try {
    c = JSON.parse(dec.decode(data)) as Partial<Claim>
  } catch {
    return undefined
  }
  if (c === null || typeof c !== 'object' || c.peer !== source || !Array.isArray(c.links))
    return undefined
  if (c.links.length > MAX_CLAIMED_LINKS) return undefined
  if (!c.links.every((p): p is string => typeof p === 'string' && p.length <= 128)) return undefined
  return new Set(c.links)
}

/** What each gossipsub instance with this module holds (for tests and diagnostics). */
const claimsByInstance = new WeakMap<GossipSub, Map<string, Set<string>>>()

/** The claims `pubsub` holds: neighbour → the peers it says it hears directly. */
export function linkClaims(pubsub: GossipSub): ReadonlyMap<string, ReadonlySet<string>> {
  return claimsByInstance.get(pubsub) ?? new Map()
}

/** Installs the origin, the claims and the cut (see the top) on a gossipsub instance not yet started. */
export function forwardByOrigin(pubsub: GossipSub, self: PeerId, log: Logger): GossipSub {
  const ps = pubsub as unknown as Internals & GossipSub
  const selfId = self.toString()
  const selfBytes = self.toMultihash().bytes
  const claims = new Map<string, Set<string>>()
  claimsByInstance.set(pubsub, claims)

  // The origin: our id in the `from` of what we publish (the RPC is built, cached, then sent).
  const ours = new WeakSet<Uint8Array>()
  const publish = ps.publish.bind(ps)
  ps.publish = (topic, data) => {
    if (data !== undefined) ours.add(data)
    return publish(topic, data)
  }
  const put = ps.mcache.put.bind(ps.mcache)
  ps.mcache.put = (id, rawMsg, validated) => {
    if (rawMsg.from === undefined && rawMsg.data !== undefined && ours.has(rawMsg.data))
      rawMsg.from = selfBytes
    return put(id, rawMsg, validated)
  }

  // The cut.
  const idBytes = new Map<string, Uint8Array>()
  const bytesOf = (peer: string): Uint8Array => {
    let b = idBytes.get(peer)
    if (b === undefined) {
      b = peerIdFromString(peer).toMultihash().bytes
      if (idBytes.size >= MAX_CLAIMED_LINKS) idBytes.clear()
      idBytes.set(peer, b)
    }
    return b
  }
  const forward = ps.forwardMessage.bind(ps)
  ps.forwardMessage = (msgIdStr, rawMsg, source, exclude) => {
    const mesh = ps.mesh.get(rawMsg.topic)
    if (
      rawMsg.from !== undefined &&
      source !== undefined &&
      claims.size > 0 &&
      mesh !== undefined &&
      equalBytes(rawMsg.from, bytesOf(source))
    ) {
      const hearing = [...mesh].filter((m) => m !== source && claims.get(m)?.has(source) === true)
      if (hearing.length > 0) exclude = new Set([...(exclude ?? []), ...hearing])
    }
    forward(msgIdStr, rawMsg, source, exclude)
  }

  // The claims: taken from the peer they are about, never delivered or forwarded.
  const lastClaim = new Map<string, number>()
  const take = (peer: PeerId, msg: { data: Uint8Array }): TopicValidatorResult => {
    const source = peer.toString()
    const now = performance.now()
    if (now - (lastClaim.get(source) ?? -Infinity) < CLAIM_MIN_GAP_MS)
      return TopicValidatorResult.Ignore
    lastClaim.set(source, now)
    const links = parseClaim(msg.data, source)
    if (links === undefined) log('claim of links from %s not taken', source)
    else if (ps.peers.has(source)) claims.set(source, links)
    return TopicValidatorResult.Ignore
  }
  let published = ''
  let publishedAt = 0
  // From the clock, so that a restarted peer's claims do not repeat ones its neighbours saw (ids are
  // content hashes: a repeat would be dropped as a duplicate).
  let n = Date.now()
  let timer: ReturnType<typeof setInterval> | undefined
  const tick = (): void => {
    for (const p of claims.keys()) if (!ps.peers.has(p)) claims.delete(p)
    for (const p of lastClaim.keys()) if (!ps.peers.has(p)) lastClaim.delete(p)
    const links = [...ps.streamsInbound.keys()].filter((p) => p !== selfId).sort()
    const now = performance.now()
    const key = links.join()
    if (key === published && now - publishedAt < LINKS_REFRESH_MS) return
    published = key
    publishedAt = now
    const claim: Claim = { peer: selfId, n: ++n, links }
    publish(LINKS_TOPIC, enc.encode(JSON.stringify(claim))).catch((err: unknown) => {
      log('publishing our links failed: %e', err)
    })
  }

  const start = ps.start.bind(ps)
  ps.start = async () => {
    await start()
    ps.topicValidators.set(LINKS_TOPIC, take)
    ps.subscribe(LINKS_TOPIC)
    timer = setInterval(tick, LINKS_CHECK_MS)
    timer.unref?.()
  }
  const stop = ps.stop.bind(ps)
  ps.stop = async () => {
    clearInterval(timer)
    timer = undefined
    claims.clear()
    lastClaim.clear()
    published = ''
    await stop()
  }
  return pubsub
}
