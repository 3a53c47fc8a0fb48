/**
 * Parley's network layer: the only code that knows libp2p.
 *
 * @packageDocumentation
 * ```ts
 * const net = await createLibp2pNet({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
 * await net.start()
 * const off = net.subscribe('parley/1/room/general', (msg) => handle(msg.data))
 * await net.publish('parley/1/room/general', bytes)
 * for await (const frame of net.request(peer, requestBytes)) consume(frame)
 * off(); await net.stop()
 * ```
 */

/** A libp2p peer id in its string form. Branded so that no other string passes for one. */
export type PeerIdString = string & { readonly __brand: 'PeerIdString' }

export type Unsubscribe = () => void

export interface AbortOptions {
  signal?: AbortSignal
}

/** A pubsub message as delivered to a subscriber. */
export interface NetMessage {
  topic: string
  data: Uint8Array
  /** The peer that forwarded it to us (not necessarily its author: authorship is checked above the net). */
  from: PeerIdString
}

/** How we are connected to one peer, for the UI and `parley peers`. */
export interface PeerConnectionInfo {
  peer: PeerIdString
  /** Remote multiaddrs of the open connections. */
  addrs: string[]
  /** 'direct' (TCP, WebSocket, WebRTC) or 'relayed' (circuit relay, limited). */
  kind: 'direct' | 'relayed'
}

/**
 * Answers one request with a stream of frames. Frames are at most {@link MAX_FRAME_BYTES}.
 * Throwing (or yielding nothing) ends the response; the requester sees the frames sent so far.
 */
export type RequestHandler = (
  request: Uint8Array,
  from: PeerIdString,
  options: { signal: AbortSignal },
) => AsyncIterable<Uint8Array>

export interface PeerNet {
  readonly peerId: PeerIdString
  start(): Promise<void>
  stop(): Promise<void>
  /** Joins `topic`; `onMessage` gets every message published there by others. */
  subscribe(topic: string, onMessage: (msg: NetMessage) => void): Unsubscribe
  /** Publishes to a topic; resolves with the number of peers it was sent to (0 is not an error). */
  publish(topic: string, data: Uint8Array, options?: AbortOptions): Promise<number>
  /** Called with the current set of connected peers whenever it changes. */
  onPeers(cb: (peers: readonly PeerIdString[]) => void): Unsubscribe
  peers(): readonly PeerIdString[]
  connections(): readonly PeerConnectionInfo[]
  /** Serves the request protocol. One handler at a time; returns a function that removes it. */
  handle(handler: RequestHandler): Unsubscribe
  /** Sends one request frame to `peer` and yields the response frames. */
  request(peer: PeerIdString, data: Uint8Array, options?: AbortOptions): AsyncIterable<Uint8Array>
  /** Connects to a peer by multiaddr (with /p2p/ id); resolves with its id. */
  dial(multiaddr: string, options?: AbortOptions): Promise<PeerIdString>
  /** Our listening addresses, each with /p2p/<our id>. */
  addresses(): string[]
}

/** Largest frame `request` and `handle` carry, and largest pubsub message published (gossipsub drops > 4 MiB). */
export const MAX_FRAME_BYTES = 3 * 1024 * 1024
