/**
 * Topic subscriptions over gossipsub: many local callbacks per topic, one gossipsub subscription.
 * The registry outlives `stop()`/`start()`: topics are re-joined when the node starts again.
 */
import {
  gossipsub,
  TopicValidatorResult,
  type GossipSub,
  type GossipsubMessage,
  type SubscriptionChangeData,
  type TopicValidatorFn,
} from '@libp2p/gossipsub'
import type { Logger } from '@libp2p/interface'
import type { AdmissionGate } from './admission.ts'
import {
  MAX_BLOCKED_PEERS,
  MAX_FRAME_BYTES,
  MAX_TOPICS_PER_PEER,
  TOPIC_BUDGET_BYTES,
} from './constants.ts'
import { AbortError, FrameTooLargeError, NotStartedError } from './errors.ts'
import { asPeerIdString } from './keys.ts'
import { plainBytes } from './frames.ts'
import { messageId } from './message-id.ts'
import { forwardByOrigin } from './gossip-origin.ts'
import { acceptSafely, callSafely } from './safe.ts'
import type {
  AbortOptions,
  NetMessage,
  PeerIdString,
  SubscribeOptions,
  Unsubscribe,
} from './index.ts'

/**
 * The gossipsub mesh sized for an office LAN, where mDNS connects every peer to every other and the
 * author flood-publishes to each of them directly (`floodPublish`). Every mesh peer a receiver keeps
 * gets a forwarded copy of each message — in a full mesh a copy the target already has — so the
 * mesh degree multiplies the transport work of every message. Gossipsub's defaults (D 6, 4–12),
 * made for blockchains of thousands of peers, had each of 11 office peers forwarding every message
 * to 6–10 others (issue #6, docs/benchmarks.md "1→10: where the time went"). A degree of 3 (2–5)
 * still gives every peer two or more forwarding routes for the peers it is not linked to (browsers
 * behind a relay, a link down), and gossip (IHAVE to 6 non-mesh peers a heartbeat) repairs the rest.
 */
export const GOSSIP_MESH = { D: 3, Dlo: 2, Dhi: 5, Dout: 1, Dscore: 2 } as const

/**
 * Messages below this size send no IDONTWANT. The default (512 bytes) had every receiver tell each
 * mesh peer about every chat message: one more frame per mesh peer, as costly to send as the
 * forwarded copy it might save — and it saves none when the author reached everyone at once.
 */
export const IDONTWANT_MIN_BYTES = 16 * 1024

/**
 * Gossipsub's peer score with its two default terms off, so that it never graylists an honest
 * peer. A graylisted peer's whole RPCs are dropped: its messages, and its subscriptions, which it
 * sends once per stream, so they are never learnt while that stream lives.
 * - IP colocation: by default every peer sharing an IP with more than 10 others loses
 *   5 × (surplus)², so from the 15th such peer on all of them are below the threshold (-80). On an
 *   office LAN many peers share an IP legitimately: browsers behind one terminal server or NAT,
 *   peers reached through the same relay (a circuit address carries the relay's IP), every peer of
 *   a test or bench on 127.0.0.1.
 * - Behaviour: -10 × (penalty)², a penalty for each IWANT not answered within 3 s and each GRAFT
 *   during a backoff. An honest peer earns it when a link is cut after it announced messages (or
 *   it is killed), and while the penalty decays (to a fifth each second) it is graylisted: the
 *   messages it sends meanwhile are dropped, and a room it joins is never learnt; below -50 our
 *   own messages skip it too. Seen in `npm run chaos` (partitions, kills): 7 times in 25
 *   schedules an honest peer's RPC was dropped, at penalty 1–9 (cached scores down to -21,160),
 *   messages among them.
 * Parley keeps strangers out by admission (gated-registrar.ts) and floods down by its own ingest
 * limit (src/core/ingest-limit.ts), not by gossipsub's score.
 */
export const OFFICE_SCORE_PARAMS = {
  IPColocationFactorWeight: 0,
  behaviourPenaltyWeight: 0,
} as const

/**
 * Gossipsub configured for Parley: unsigned, content-addressed, flood-published, never throwing on
 * zero peers, and not forwarding to a peer what it hears from the author directly (gossip-origin.ts).
 */
export function parleyGossipsub(init: {
  runOnLimitedConnection: boolean
}): ReturnType<typeof gossipsub> {
  const make = gossipsub({
    // Authorship is verified above the net by our own signed log: libp2p signatures would only cost time.
    globalSignaturePolicy: 'StrictNoSign',
    msgIdFn: (msg) => messageId(msg.topic, msg.data),
    allowPublishToZeroTopicPeers: true,
    // A republished identical payload is already on the network: resolve with 0 recipients, don't throw.
    ignoreDuplicatePublishError: true,
    emitSelf: false,
    // Send our own messages straight to every peer on the topic, not just the mesh: lowest latency on
    // a small LAN, and a message published right after a peer subscribed still reaches it.
    floodPublish: true,
    ...GOSSIP_MESH,
    idontwantMinDataSize: IDONTWANT_MIN_BYTES,
    runOnLimitedConnection: init.runOnLimitedConnection,
    // A peer's subscriptions are bounded (gossipsub's per-peer topic bytes, charged topic + 1,024):
    // one subscribing to 100,000 topics gets MAX_TOPICS_PER_PEER of them; the rest are ignored.
    maxTopicBytesPerPeer: TOPIC_BUDGET_BYTES,
    decodeRpcLimits: { ...GOSSIP_DECODE_LIMITS, maxSubscriptions: MAX_TOPICS_PER_PEER },
    scoreParams: OFFICE_SCORE_PARAMS,
  })
  return (components) =>
    forwardByOrigin(
      make(components),
      components.peerId,
      components.logger.forComponent('parley:net:gossip-origin'),
    )
}

/** Gossipsub 17's own decode limits per RPC (src/message/decodeRpc.ts), but for subscriptions. */
const GOSSIP_DECODE_LIMITS = {
  maxSubscriptions: 5_000,
  maxMessages: 5_000,
  maxIhaveMessageIDs: 5_000,
  maxIwantMessageIDs: 5_000,
  maxControlMessages: 5_000,
  maxIdontwantMessageIDs: 512,
  maxPeerInfos: 16,
}

/** Who to tell when a peer has too many gossip messages refused. */
export interface GossipFloodWatch {
  refusedPerSecond: number
  onFlood: (peer: PeerIdString) => void
}

export class GossipRouter {
  readonly #log: Logger
  readonly #subs = new Map<string, Set<(msg: NetMessage) => void>>()
  /** The `accept` checks of the subscriptions that gave one, by topic (run as gossipsub validators). */
  readonly #accepts = new Map<string, Set<(msg: NetMessage) => boolean>>()
  #pubsub: GossipSub | undefined
  readonly #gate: AdmissionGate | undefined
  readonly #flood: GossipFloodWatch | undefined
  /** Per peer, messages refused in the current second (since `since`, ms). */
  readonly #refused = new Map<string, { since: number; count: number }>()
  readonly #subscribedListeners = new Set<(peer: PeerIdString, topic: string) => void>()

  /**
   * With `gate`, gossipsub sees only admitted peers (gated-registrar.ts); topicPeers says so too.
   * With `flood`, its `onFlood` is told of a peer that had more than `refusedPerSecond` messages
   * refused within a second (once per second at most).
   */
  constructor(log: Logger, gate?: AdmissionGate, flood?: GossipFloodWatch) {
    this.#log = log
    this.#gate = gate
    this.#flood = flood
  }

  /** Starts routing messages from `pubsub` (already started) and joins every registered topic. */
  attach(pubsub: GossipSub): void {
    this.#pubsub = pubsub
    pubsub.addEventListener('gossipsub:message', this.#onMessage)
    pubsub.addEventListener('subscription-change', this.#onSubscriptions)
    for (const topic of this.#subs.keys()) this.#join(pubsub, topic)
  }

  /** Stops routing; subscriptions stay registered for the next `attach`. */
  detach(): void {
    this.#pubsub?.removeEventListener('gossipsub:message', this.#onMessage)
    this.#pubsub?.removeEventListener('subscription-change', this.#onSubscriptions)
    this.#pubsub = undefined
  }

  subscribe(
    topic: string,
    onMessage: (msg: NetMessage) => void,
    options: SubscribeOptions = {},
  ): Unsubscribe {
    let set = this.#subs.get(topic)
    if (set === undefined) {
      set = new Set()
      this.#subs.set(topic, set)
      if (this.#pubsub !== undefined) this.#join(this.#pubsub, topic)
    }
    // Wrap so that the same function subscribed twice is two subscriptions, each removable alone.
    const entry = (msg: NetMessage): void => onMessage(msg)
    set.add(entry)
    const check = options.accept
    const accept = check === undefined ? undefined : (msg: NetMessage): boolean => check(msg)
    if (accept !== undefined) {
      const checks = this.#accepts.get(topic) ?? new Set()
      this.#accepts.set(topic, checks.add(accept))
    }
    let done = false
    return () => {
      if (done) return
      done = true
      if (accept !== undefined) this.#accepts.get(topic)?.delete(accept)
      if (this.#accepts.get(topic)?.size === 0) this.#accepts.delete(topic)
      const current = this.#subs.get(topic)
      if (current === undefined) return
      current.delete(entry)
      if (current.size > 0) return
      this.#subs.delete(topic)
      this.#pubsub?.unsubscribe(topic)
      this.#pubsub?.topicValidators.delete(topic)
    }
  }

  /**
   * Subscribes gossipsub to `topic`, with our validator: it runs before gossipsub delivers or
   * forwards a message, so an `accept` that says no keeps the message from every peer behind us.
   */
  #join(pubsub: GossipSub, topic: string): void {
    pubsub.topicValidators.set(topic, this.#validate)
    pubsub.subscribe(topic)
  }

  readonly #validate: TopicValidatorFn = (peer, msg) => {
    const checks = this.#accepts.get(msg.topic)
    if (checks === undefined) return TopicValidatorResult.Accept
    const message: NetMessage = {
      topic: msg.topic,
      data: plainBytes(msg.data),
      from: asPeerIdString(peer.toString()),
    }
    // Every check sees every message (one may count what arrives), and all must take it.
    let taken = true
    for (const accept of [...checks])
      if (!acceptSafely(this.#log, msg.topic, () => accept(message))) taken = false
    if (taken) return TopicValidatorResult.Accept
    this.#countRefused(message.from)
    return TopicValidatorResult.Ignore
  }

  #countRefused(peer: PeerIdString): void {
    const flood = this.#flood
    if (flood === undefined) return
    const now = performance.now()
    let r = this.#refused.get(peer)
    if (r === undefined || now - r.since >= 1_000) {
      if (r === undefined && this.#refused.size >= MAX_BLOCKED_PEERS) this.#refused.clear()
      r = { since: now, count: 0 }
      this.#refused.set(peer, r)
    }
    if (++r.count !== flood.refusedPerSecond + 1) return
    callSafely(this.#log, 'flood listener', () => flood.onFlood(peer))
  }

  async publish(topic: string, data: Uint8Array, options: AbortOptions = {}): Promise<number> {
    if (data.byteLength > MAX_FRAME_BYTES) {
      throw new FrameTooLargeError(`Message of ${data.byteLength} bytes exceeds ${MAX_FRAME_BYTES}`)
    }
    if (options.signal?.aborted === true) throw new AbortError()
    const pubsub = this.#pubsub
    if (pubsub === undefined) throw new NotStartedError('publish before start')
    const { recipients } = await pubsub.publish(topic, data)
    return recipients.length
  }

  /** Connected peers known to be subscribed to `topic`. */
  topicPeers(topic: string): PeerIdString[] {
    return (this.#pubsub?.getSubscribers(topic) ?? [])
      .map((id) => asPeerIdString(id.toString()))
      .filter((p) => this.#gate === undefined || this.#gate.isAdmitted(p))
  }

  /** See {@link PeerNet.onSubscribed}. */
  onSubscribed(cb: (peer: PeerIdString, topic: string) => void): Unsubscribe {
    const entry = (peer: PeerIdString, topic: string): void => cb(peer, topic)
    this.#subscribedListeners.add(entry)
    return () => this.#subscribedListeners.delete(entry)
  }

  readonly #onSubscriptions = (evt: CustomEvent<SubscriptionChangeData>): void => {
    const peer = asPeerIdString(evt.detail.peerId.toString())
    if (this.#gate !== undefined && !this.#gate.isAdmitted(peer)) return
    for (const { topic, subscribe } of evt.detail.subscriptions) {
      if (!subscribe || !this.#subs.has(topic)) continue
      for (const cb of [...this.#subscribedListeners])
        callSafely(this.#log, 'onSubscribed listener', () => cb(peer, topic))
    }
  }

  readonly #onMessage = (evt: CustomEvent<GossipsubMessage>): void => {
    const { msg, propagationSource } = evt.detail
    const set = this.#subs.get(msg.topic)
    if (set === undefined) return
    const message: NetMessage = {
      topic: msg.topic,
      data: plainBytes(msg.data),
      from: asPeerIdString(propagationSource.toString()),
    }
    for (const cb of [...set])
      callSafely(this.#log, `subscriber on ${msg.topic}`, () => cb(message))
  }
}
