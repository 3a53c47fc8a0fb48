/** One net of the memory hub (memory.ts): the {@link PeerNet} face of a hub node. */
import { MAX_FRAME_BYTES } from './constants.ts'
import {
  AbortError,
  FrameTooLargeError,
  InvalidMultiaddrError,
  NotStartedError,
  PeerUnreachableError,
} from './errors.ts'
import type { MemoryGate } from './memory-admission.ts'
import { messageId } from './message-id.ts'
import { memoryRequest, type RequestEnd } from './memory-request.ts'
import type {
  AdmissionRefusal,
  NetMessage,
  PeerConnectionInfo,
  PeerIdString,
  PeerNet,
} from './index.ts'

/** A net's state inside the hub. */
export interface HubNode extends RequestEnd {
  readonly subs: Map<string, Set<(msg: NetMessage) => void>>
  /** The `accept` checks of the subscriptions that gave one, by topic. */
  readonly accepts: Map<string, Set<(msg: NetMessage) => boolean>>
  readonly peerListeners: Set<(peers: readonly PeerIdString[]) => void>
  /** Told when a linked peer is learnt to follow one of our topics (PeerNet.onSubscribed). */
  readonly subscribedListeners: Set<(peer: PeerIdString, topic: string) => void>
  /** Told when a peer refuses our proof (only nets with an admission send proofs). */
  readonly refusalListeners: Set<(refusal: AdmissionRefusal) => void>
  lastPeers: readonly PeerIdString[]
  /** Message ids seen (published or received): gossipsub's seen cache, without expiry. */
  readonly seen: Set<string>
  readonly gate: MemoryGate
  /** Hex of the network key; nets with different keys never connect. */
  readonly networkKey: string | undefined
}

type Node = HubNode

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

/** What the hub gives each of its nets. */
export interface HubOps {
  node(id: PeerIdString): Node
  find(id: PeerIdString): Node | undefined
  wired(a: Node, b: Node): boolean
  linked(a: Node, b: Node): boolean
  peersOf(n: Node): PeerIdString[]
  subscribed(n: Node, topic: string): boolean
  /** `n` now follows `topic`: tells its linked peers that follow it too. */
  joined(n: Node, topic: string): void
  enqueue(from: Node, topic: string, data: Uint8Array, id: string): number
  connect(a: PeerIdString, b: PeerIdString): void
  refresh(): void
  untilAdmitted(self: Node, peer: PeerIdString, signal?: AbortSignal): Promise<void>
  cut(a: Node, b: Node): void
}

export function createMemoryNet(self: Node, hub: HubOps): PeerNet {
  const assertStarted = (what: string): void => {
    if (!self.started) throw new NotStartedError(`${what} before start`)
  }
  return {
    peerId: self.id,
    start() {
      self.started = true
      hub.refresh()
      return Promise.resolve()
    },
    stop() {
      self.started = false
      hub.refresh()
      return Promise.resolve()
    },
    subscribe(topic, onMessage, options = {}) {
      const entry = (msg: NetMessage): void => onMessage(msg)
      const set = self.subs.get(topic) ?? new Set()
      set.add(entry)
      const joined = !self.subs.has(topic)
      self.subs.set(topic, set)
      if (joined) hub.joined(self, topic)
      const accept = options.accept
      const checks = self.accepts.get(topic) ?? new Set()
      if (accept !== undefined) self.accepts.set(topic, checks.add(accept))
      return () => {
        set.delete(entry)
        if (set.size === 0 && self.subs.get(topic) === set) self.subs.delete(topic)
        if (accept === undefined) return
        checks.delete(accept)
        if (checks.size === 0 && self.accepts.get(topic) === checks) self.accepts.delete(topic)
      }
    },
    async publish(topic, data, options = {}) {
      if (data.byteLength > MAX_FRAME_BYTES) {
        throw new FrameTooLargeError(
          `Message of ${data.byteLength} bytes exceeds ${MAX_FRAME_BYTES}`,
        )
      }
      if (options.signal?.aborted === true) throw new AbortError()
      assertStarted('publish')
      const id = hex(messageId(topic, data))
      if (self.seen.has(id)) return 0
      self.seen.add(id)
      return hub.enqueue(self, topic, data.slice(), id)
    },
    onPeers(cb) {
      const entry = (peers: readonly PeerIdString[]): void => cb(peers)
      self.peerListeners.add(entry)
      return () => self.peerListeners.delete(entry)
    },
    onSubscribed(cb) {
      const entry = (peer: PeerIdString, topic: string): void => cb(peer, topic)
      self.subscribedListeners.add(entry)
      return () => self.subscribedListeners.delete(entry)
    },
    peers: () => hub.peersOf(self),
    topicPeers: (topic) => hub.peersOf(self).filter((p) => hub.subscribed(hub.node(p), topic)),
    // in-process links are never silently dead
    quietFor: () => undefined,
    connections: (): PeerConnectionInfo[] =>
      hub.peersOf(self).map((peer) => ({ peer, addrs: [`/memory/${peer}`], kind: 'direct' })),
    handle(handler) {
      self.handler = handler
      return () => {
        if (self.handler === handler) self.handler = undefined
      }
    },
    async *request(peer, data, options = {}) {
      // Requests to a peer still being admitted wait for the verdict, as on libp2p.
      await hub.untilAdmitted(self, peer, options.signal)
      yield* memoryRequest(self, peer, data, options.signal, () => {
        const target = hub.find(peer)
        return { target, linked: target !== undefined && hub.linked(self, target) }
      })
    },
    dial(addr, options = {}) {
      if (options.signal?.aborted === true) return Promise.reject(new AbortError())
      const match = /^\/memory\/([^/]+)(?:\/p2p\/([^/]+))?$/.exec(addr)
      const id = match?.[2] ?? match?.[1]
      if (id === undefined)
        return Promise.reject(new InvalidMultiaddrError(`Not a memory address: ${addr}`))
      try {
        assertStarted('dial')
        const other = hub.node(id as PeerIdString)
        if (!other.started) throw new PeerUnreachableError(`${id} is not started`)
        hub.connect(self.id, other.id)
        // Connected is enough, as on libp2p: admission follows on the new link.
        if (!hub.wired(self, other))
          throw new PeerUnreachableError(`${id} is partitioned from us, or refuses us`)
        return Promise.resolve(other.id)
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)))
      }
    },
    addresses: () => (self.started ? [`/memory/${self.id}/p2p/${self.id}`] : []),
    evict(peer) {
      const other = hub.find(peer)
      if (other !== undefined) hub.cut(self, other)
      return Promise.resolve()
    },
    onRefused(cb) {
      const entry = (refusal: AdmissionRefusal): void => cb(refusal)
      self.refusalListeners.add(entry)
      return () => self.refusalListeners.delete(entry)
    },
    async readmitAll() {
      for (const peer of await self.gate.recheck()) {
        const other = hub.find(peer)
        if (other !== undefined) hub.cut(self, other)
      }
    },
  }
}
