/**
 * A {@link PeerNet} whose real net is made later: the browser's Messenger and client start on it
 * while the libp2p code has not even been loaded, so a reload reads and paints its history without
 * waiting for that chunk or the node's creation (docs/web.md, "Reload to first paint").
 *
 * Until {@link DeferredNet.attach} it behaves as a stopped net: subscriptions, the request handler
 * and peer listeners are kept (and handed to the real net when it comes), there are no peers, and
 * publishing, requesting and dialling fail with `NotStartedError`. `start()` waits for the real net.
 */
import { NotStartedError } from './errors.ts'
import type {
  AbortOptions,
  AdmissionRefusal,
  NetMessage,
  PeerConnectionInfo,
  PeerIdString,
  PeerNet,
  RequestHandler,
  RequestOptions,
  SubscribeOptions,
  Unsubscribe,
} from './index.ts'

/** Something registered before the real net came: `off` once it has been handed over. */
interface Held {
  add: (net: PeerNet) => Unsubscribe
  off?: Unsubscribe
}

export class DeferredNet implements PeerNet {
  readonly peerId: PeerIdString
  #net: PeerNet | undefined
  readonly #held = new Set<Held>()
  readonly #attached: Promise<PeerNet>
  #resolve: (net: PeerNet) => void = () => undefined

  /** `peerId`: the id the real net will have (its key's, remembered from an earlier run). */
  constructor(peerId: PeerIdString) {
    this.peerId = peerId
    this.#attached = new Promise((resolve) => (this.#resolve = resolve))
  }

  /** Hands over to `net` (its id must be ours): everything registered so far moves to it. */
  attach(net: PeerNet): void {
    if (this.#net !== undefined) throw new Error('DeferredNet: already attached')
    if (net.peerId !== this.peerId)
      throw new Error(`DeferredNet: the net is ${net.peerId}, expected ${this.peerId}`)
    this.#net = net
    for (const h of this.#held) h.off = h.add(net)
    this.#held.clear()
    this.#resolve(net)
  }

  get attached(): boolean {
    return this.#net !== undefined
  }

  #hold(add: (net: PeerNet) => Unsubscribe): Unsubscribe {
    if (this.#net !== undefined) return add(this.#net)
    const h: Held = { add }
    this.#held.add(h)
    return () => {
      this.#held.delete(h)
      h.off?.()
    }
  }

  #need(what: string): PeerNet {
    if (this.#net === undefined) throw new NotStartedError(`${what} before start`)
    return this.#net
  }

  async start(): Promise<void> {
    await (await this.#attached).start()
  }

  async stop(): Promise<void> {
    await this.#net?.stop()
  }

  subscribe(
    topic: string,
    onMessage: (msg: NetMessage) => void,
    options?: SubscribeOptions,
  ): Unsubscribe {
    return this.#hold((net) => net.subscribe(topic, onMessage, options))
  }

  async publish(topic: string, data: Uint8Array, options?: AbortOptions): Promise<number> {
    return this.#need('publish').publish(topic, data, options)
  }

  onPeers(cb: (peers: readonly PeerIdString[]) => void): Unsubscribe {
    return this.#hold((net) => net.onPeers(cb))
  }

  onSubscribed(cb: (peer: PeerIdString, topic: string) => void): Unsubscribe {
    return this.#hold((net) => net.onSubscribed(cb))
  }

  peers(): readonly PeerIdString[] {
    return this.#net?.peers() ?? []
  }

  topicPeers(topic: string): readonly PeerIdString[] {
    return this.#net?.topicPeers(topic) ?? []
  }

  connections(): readonly PeerConnectionInfo[] {
    return this.#net?.connections() ?? []
  }

  quietFor(peer: PeerIdString): number | undefined {
    return this.#net?.quietFor(peer)
  }

  handle(handler: RequestHandler): Unsubscribe {
    return this.#hold((net) => net.handle(handler))
  }

  request(
    peer: PeerIdString,
    data: Uint8Array,
    options?: RequestOptions,
  ): AsyncIterable<Uint8Array> {
    const net = this.#net
    if (net !== undefined) return net.request(peer, data, options)
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.reject(new NotStartedError('request before start')),
      }),
    }
  }

  async dial(multiaddr: string, options?: AbortOptions): Promise<PeerIdString> {
    return this.#need('dial').dial(multiaddr, options)
  }

  addresses(): string[] {
    return this.#net?.addresses() ?? []
  }

  async evict(peer: PeerIdString, options?: AbortOptions): Promise<void> {
    await this.#net?.evict(peer, options)
  }

  onRefused(cb: (refusal: AdmissionRefusal) => void): Unsubscribe {
    return this.#hold((net) => net.onRefused(cb))
  }

  async readmitAll(): Promise<void> {
    await this.#net?.readmitAll()
  }
}
