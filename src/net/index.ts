/**
 * Parley's network layer: the only code that knows libp2p.
 *
 * @packageDocumentation
 * ```ts
 * const net = await createLibp2pNet({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
 * await net.start()
 * const off = net.subscribe(roomTopic('general'), (msg) => handle(msg.data))
 * await net.publish(roomTopic('general'), bytes) // resolves with the number of peers reached
 * net.handle(async function* (request, from, { signal }) { yield answer(request) })
 * for await (const frame of net.request(peer, requestBytes, { signal })) consume(frame)
 * off(); await net.stop()
 * ```
 * Upper-layer tests use `createMemoryHub()` (`memory.ts`) instead: same contract, no sockets,
 * delivery on `flush()`. `createLibp2pNet` lives in `libp2p.ts`, which this module does not import,
 * so importing types and constants from here never pulls libp2p into a bundle.
 */

/** A libp2p peer id in its string form. Branded so that no other string passes for one. */
export type PeerIdString = string & { readonly __brand: 'PeerIdString' }

export type Unsubscribe = () => void

export interface AbortOptions {
  signal?: AbortSignal
}

export interface RequestOptions extends AbortOptions {
  /**
   * The answer may be large (file chunks): between two Node peers connected over TCP it may travel
   * on a bulk side channel (a plain TCP connection keyed through the libp2p one, src/net/bulk.ts)
   * instead of the libp2p stream, falling back to the stream whenever no channel can be opened.
   * Same frames, same errors either way. Only for requests that may be sent twice: a channel kept
   * from an earlier request that turns out closed before any answer is retried on another.
   * @default false
   */
  bulk?: boolean
}

/** A pubsub message as delivered to a subscriber. */
export interface NetMessage {
  topic: string
  data: Uint8Array
  /** The peer that forwarded it to us (not necessarily its author: authorship is checked above the net). */
  from: PeerIdString
}

/** How we are connected to one peer, for the UI and `parley peers`. */
/** Options of {@link PeerNet.subscribe}. */
export interface SubscribeOptions {
  /**
   * Asked first about each message received on the topic, before any callback gets it and before
   * it is forwarded to other peers: false drops it here (gossipsub `Ignore`, no score penalty), so
   * what a flooder sends is not relayed on to every peer behind us. Must be cheap and synchronous.
   * Every subscription's `accept` sees every message, and a message is taken only if all take it.
   * On libp2p, a peer with more than `FLOOD_REFUSED_PER_SECOND` messages refused within a second
   * is cut off for a while (`Libp2pNetInit.floodCutOff`).
   */
  accept?: (msg: NetMessage) => boolean
}

export interface PeerConnectionInfo {
  peer: PeerIdString
  /** Remote multiaddrs of the open connections. */
  addrs: string[]
  /**
   * 'direct' if any connection is (TCP, WebSocket, WebRTC — even one signalled through a relay,
   * whose address reads `…/p2p-circuit/webrtc/…`), else 'relayed' (circuit relay v2 only: limited,
   * carries no gossip or sync by default).
   */
  kind: 'direct' | 'relayed'
}

/**
 * Answers one request with a stream of frames, each at most `MAX_FRAME_BYTES`. Returning ends the
 * response normally (yielding nothing is a valid, empty answer). Throwing, or yielding an oversize
 * frame, aborts it: the requester gets the frames sent so far, then `ResponseAbortedError`.
 * `signal` fires when the requester goes away or the net stops.
 */
export type RequestHandler = (
  request: Uint8Array,
  from: PeerIdString,
  options: { signal: AbortSignal },
) => AsyncIterable<Uint8Array>

/**
 * Who may stay connected. Opaque proof bytes are exchanged on every new connection (both ways,
 * `/parley/admit/1.0.0` on libp2p), and the remote's proof gets a verdict before anything else flows.
 * The net knows nothing about what a proof means: the core supplies certificates here.
 */
export interface Admission {
  /** Our proof (≤ `MAX_PROOF_BYTES`, 64 KiB), sent to every newly connected peer. */
  proof(): Uint8Array | Promise<Uint8Array>
  /**
   * Whether `peer` (authenticated by Noise) with `proof` may stay. Throwing, or false, denies it
   * (logged); `signal` fires when the verdict is no longer wanted (timeout, disconnect, stop).
   * Throwing `AdmissionRefusedError` also tells the peer why (its code and reason, for display).
   */
  verify(peer: PeerIdString, proof: Uint8Array, options: { signal: AbortSignal }): Promise<boolean>
}

/**
 * A peer's refusal of our proof, as that peer put it: `code` 0 when it gave no (valid) reason.
 * Untrusted — any peer may send anything here — so it is for showing and logging, never for a
 * decision; `reason` is at most `MAX_REFUSAL_BYTES` of UTF-8, without control characters.
 */
export interface AdmissionRefusal {
  peer: PeerIdString
  code: number
  reason: string
}

export interface PeerNet {
  readonly peerId: PeerIdString
  /** Listens, joins subscribed topics, dials bootstrap peers. Idempotent; a stopped net starts again. */
  start(): Promise<void>
  /** Closes every connection, listener and timer. Idempotent. Subscriptions and the handler are kept. */
  stop(): Promise<void>
  /**
   * Joins `topic`; `onMessage` gets every message published there by others (never our own).
   * Several callbacks per topic are fine; the returned function removes only this one, and the
   * topic is left when the last one goes. Works before `start()`. A callback that throws is logged.
   */
  subscribe(
    topic: string,
    onMessage: (msg: NetMessage) => void,
    options?: SubscribeOptions,
  ): Unsubscribe
  /**
   * Publishes to a topic; resolves with the number of peers it was sent to (0 is not an error).
   * Message ids are content hashes: the same bytes published again on the same topic within a few
   * minutes are a duplicate and go nowhere (resolves 0), so every payload should be unique.
   * Rejects with `FrameTooLargeError` above `MAX_FRAME_BYTES`, `NotStartedError` when stopped.
   */
  publish(topic: string, data: Uint8Array, options?: AbortOptions): Promise<number>
  /** Called with the deduplicated connected peers whenever that set changes (not on subscribe). */
  onPeers(cb: (peers: readonly PeerIdString[]) => void): Unsubscribe
  /**
   * Called when a connected peer is learnt to be subscribed to one of our topics: on a new link,
   * for each topic both sides follow, and when it joins one of them later. What we published on
   * that topic before this moment did not reach it: publishing sends only to the subscribers known.
   */
  onSubscribed(cb: (peer: PeerIdString, topic: string) => void): Unsubscribe
  peers(): readonly PeerIdString[]
  /**
   * Connected peers known to be subscribed to `topic`. A peer can show up here a moment before our
   * own gossipsub stream to it is open (seen with WebRTC); `publish`'s result counts the peers a
   * message was actually sent to.
   */
  topicPeers(topic: string): readonly PeerIdString[]
  /** Open connections by peer; a WebRTC one only once a round trip over it came back. */
  connections(): readonly PeerConnectionInfo[]
  /**
   * How long (ms) since any connection to `peer` last received a byte — gossip, a ping's answer,
   * a response. Undefined with no connection, or on a net that does not watch its links. A link
   * dead without either side knowing yet (a cut, a killed peer) goes quiet; a slow peer does not.
   */
  quietFor(peer: PeerIdString): number | undefined
  /** Serves the request protocol. One handler at a time; returns a function that removes it. */
  handle(handler: RequestHandler): Unsubscribe
  /**
   * Sends one request frame to `peer` and yields the response frames, in order. Rejects with
   * `PeerUnreachableError` (unknown or unreachable peer), `ResponseAbortedError` (the responder
   * failed or the link dropped mid-response), `FrameTooLargeError`, `AbortError` (`signal` fired),
   * `NotStartedError`. Breaking out of the loop cancels the request.
   */
  request(peer: PeerIdString, data: Uint8Array, options?: RequestOptions): AsyncIterable<Uint8Array>
  /** Connects to a peer by multiaddr (`/p2p/<id>` optional); resolves with its id. */
  dial(multiaddr: string, options?: AbortOptions): Promise<PeerIdString>
  /** Our listening addresses, each with /p2p/<our id>; empty while stopped. */
  addresses(): string[]
  /**
   * Closes every connection to `peer` and forgets its admission: to come back it must connect and
   * prove itself again (e.g. the core evicts a revoked member's peers). Resolves once the
   * connections are closed; a peer we are not connected to is a no-op.
   */
  evict(peer: PeerIdString, options?: AbortOptions): Promise<void>
  /**
   * Verifies every connected peer's last proof again, evicting those now refused (call it when
   * what `Admission.verify` knows has changed, e.g. after learning a revocation). Peers refused
   * earlier whose last proof now passes are no longer kept out. Without `admission`: a no-op.
   */
  readmitAll(): Promise<void>
  /**
   * Called whenever a peer refuses our admission proof (before it disconnects us), with the reason
   * it gave. Never called without `admission`.
   */
  onRefused(cb: (refusal: AdmissionRefusal) => void): Unsubscribe
}

export {
  MAX_FRAME_BYTES,
  MAX_PROOF_BYTES,
  MAX_REFUSAL_BYTES,
  ADMIT_PROTOCOL,
  TOPIC_PREFIX,
  PRESENCE_TOPIC,
  ROOMS_TOPIC,
  SYNC_PROTOCOL,
  BULK_PROTOCOL,
  roomTopic,
  topicRoom,
  MAX_TOPICS_PER_PEER,
  TOPIC_BUDGET_BYTES,
} from './constants.ts'
export * from './errors.ts'
