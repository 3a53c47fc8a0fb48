/**
 * A deterministic in-process {@link PeerNet} hub for tests and development: no libp2p, no sockets,
 * no timers. Published messages wait in a queue until `flush()` (or a microtask, with `autoFlush`),
 * like yjs' `TestConnector`; topology is explicit (`connect`, `partition`, `heal`).
 *
 * It mirrors the libp2p net's contract (test/net/peer-net.contract.ts): content-addressed message
 * ids (a repeated payload is a duplicate), subscribers forward to their own peers (gossip), no
 * echo to the publisher, requests only between connected peers.
 */
import { logger } from '@libp2p/logger'
import { MAX_FRAME_BYTES } from './constants.ts'
import {
  AbortError,
  FrameTooLargeError,
  InvalidMultiaddrError,
  NotStartedError,
  PeerUnreachableError,
} from './errors.ts'
import { messageId } from './message-id.ts'
import { memoryRequest, type RequestEnd } from './memory-request.ts'
import { callSafely } from './safe.ts'
import type { NetMessage, PeerConnectionInfo, PeerIdString, PeerNet } from './index.ts'

export interface MemoryHubInit {
  /** Deliver queued messages on a microtask after each publish instead of waiting for `flush()`. @default false */
  autoFlush?: boolean
  /** Link every new net to every existing one, as mDNS does on a LAN. @default true */
  autoConnect?: boolean
}

export interface MemoryHub {
  /** A new, stopped net. `id` defaults to `peer-<n>`; ids must be unique within the hub. */
  createNet(id?: string): PeerNet
  /** Delivers every queued message, including those published or forwarded while flushing. */
  flush(): Promise<void>
  /** Messages published but not delivered yet. */
  pending(): number
  /** Cuts every link between a peer of `a` and a peer of `b` until `heal()`. */
  partition(a: readonly PeerIdString[], b: readonly PeerIdString[]): void
  /** Lifts every partition. */
  heal(): void
  connect(a: PeerIdString, b: PeerIdString): void
  disconnect(a: PeerIdString, b: PeerIdString): void
}

interface Queued {
  from: PeerIdString
  to: PeerIdString
  topic: string
  data: Uint8Array
  id: string
}

interface Node extends RequestEnd {
  readonly subs: Map<string, Set<(msg: NetMessage) => void>>
  readonly peerListeners: Set<(peers: readonly PeerIdString[]) => void>
  lastPeers: readonly PeerIdString[]
  /** Message ids seen (published or received): gossipsub's seen cache, without expiry. */
  readonly seen: Set<string>
}

const log = logger('parley:net:memory')
const brand = (id: string): PeerIdString => id as PeerIdString
const pairKey = (a: string, b: string): string => (a < b ? `${a} ${b}` : `${b} ${a}`)
const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

export function createMemoryHub(init: MemoryHubInit = {}): MemoryHub {
  const nodes = new Map<PeerIdString, Node>()
  const links = new Set<string>()
  const blocked = new Set<string>()
  const queue: Queued[] = []
  let counter = 0
  let flushing = false
  let scheduled = false

  const linked = (a: Node, b: Node): boolean =>
    a !== b &&
    a.started &&
    b.started &&
    links.has(pairKey(a.id, b.id)) &&
    !blocked.has(pairKey(a.id, b.id))
  const peersOf = (n: Node): PeerIdString[] =>
    [...nodes.values()].filter((m) => linked(n, m)).map((m) => m.id)
  const subscribed = (n: Node, topic: string): boolean => n.started && n.subs.has(topic)

  /** After any topology change: drop requests that lost their link, tell listeners who changed. */
  function refresh(): void {
    for (const n of nodes.values()) {
      for (const [ac, other] of n.requests) {
        const o = nodes.get(other)
        if (o === undefined || !linked(n, o)) ac.abort()
      }
    }
    for (const n of nodes.values()) {
      const peers = peersOf(n)
      const same =
        peers.length === n.lastPeers.length && peers.every((p) => n.lastPeers.includes(p))
      if (same) continue
      n.lastPeers = peers
      for (const cb of [...n.peerListeners]) callSafely(log, 'onPeers listener', () => cb(peers))
    }
  }

  function enqueue(
    from: Node,
    topic: string,
    data: Uint8Array,
    id: string,
    except?: PeerIdString,
  ): number {
    const to = peersOf(from).filter((p) => p !== except && subscribed(nodes.get(p) as Node, topic))
    for (const p of to) queue.push({ from: from.id, to: p, topic, data, id })
    if (init.autoFlush === true && !scheduled && to.length > 0) {
      scheduled = true
      queueMicrotask(() => {
        scheduled = false
        void flush()
      })
    }
    return to.length
  }

  function deliver(m: Queued): void {
    const to = nodes.get(m.to)
    const from = nodes.get(m.from)
    if (to === undefined || from === undefined || !linked(from, to)) return
    if (to.seen.has(m.id)) return
    to.seen.add(m.id)
    const subs = to.subs.get(m.topic)
    if (subs === undefined) return
    const msg: NetMessage = { topic: m.topic, data: m.data.slice(), from: m.from }
    for (const cb of [...subs]) callSafely(log, `subscriber on ${m.topic}`, () => cb(msg))
    enqueue(to, m.topic, m.data, m.id, m.from)
  }

  function flush(): Promise<void> {
    if (flushing) return Promise.resolve()
    flushing = true
    try {
      for (let m = queue.shift(); m !== undefined; m = queue.shift()) deliver(m)
    } finally {
      flushing = false
    }
    return Promise.resolve()
  }

  function node(id: PeerIdString): Node {
    const n = nodes.get(id)
    if (n === undefined) throw new PeerUnreachableError(`No net ${id} in this hub`)
    return n
  }

  function createNet(requested?: string): PeerNet {
    const id = brand(requested ?? `peer-${++counter}`)
    if (nodes.has(id)) throw new Error(`Net id ${id} already in use`)
    const self: Node = {
      id,
      started: false,
      subs: new Map(),
      handler: undefined,
      peerListeners: new Set(),
      lastPeers: [],
      seen: new Set(),
      requests: new Map(),
    }
    if (init.autoConnect !== false) for (const other of nodes.keys()) links.add(pairKey(id, other))
    nodes.set(id, self)
    return createMemoryNet(self, {
      node,
      find: (p: PeerIdString) => nodes.get(p),
      linked,
      peersOf,
      subscribed,
      enqueue,
      connect,
      refresh,
    })
  }

  function connect(a: PeerIdString, b: PeerIdString): void {
    links.add(pairKey(a, b))
    refresh()
  }

  return {
    createNet,
    flush,
    pending: () => queue.length,
    partition(a, b) {
      for (const x of a) for (const y of b) if (x !== y) blocked.add(pairKey(x, y))
      refresh()
    },
    heal() {
      blocked.clear()
      refresh()
    },
    connect,
    disconnect(a, b) {
      links.delete(pairKey(a, b))
      refresh()
    },
  }
}

interface HubOps {
  node(id: PeerIdString): Node
  find(id: PeerIdString): Node | undefined
  linked(a: Node, b: Node): boolean
  peersOf(n: Node): PeerIdString[]
  subscribed(n: Node, topic: string): boolean
  enqueue(from: Node, topic: string, data: Uint8Array, id: string): number
  connect(a: PeerIdString, b: PeerIdString): void
  refresh(): void
}

function createMemoryNet(self: Node, hub: HubOps): PeerNet {
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
    subscribe(topic, onMessage) {
      const entry = (msg: NetMessage): void => onMessage(msg)
      const set = self.subs.get(topic) ?? new Set()
      set.add(entry)
      self.subs.set(topic, set)
      return () => {
        set.delete(entry)
        if (set.size === 0 && self.subs.get(topic) === set) self.subs.delete(topic)
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
    peers: () => hub.peersOf(self),
    topicPeers: (topic) => hub.peersOf(self).filter((p) => hub.subscribed(hub.node(p), topic)),
    connections: (): PeerConnectionInfo[] =>
      hub.peersOf(self).map((peer) => ({ peer, addrs: [`/memory/${peer}`], kind: 'direct' })),
    handle(handler) {
      self.handler = handler
      return () => {
        if (self.handler === handler) self.handler = undefined
      }
    },
    request: (peer, data, options = {}) =>
      memoryRequest(self, peer, data, options.signal, () => {
        const target = hub.find(peer)
        return { target, linked: target !== undefined && hub.linked(self, target) }
      }),
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
        if (!hub.linked(self, other)) throw new PeerUnreachableError(`${id} is partitioned from us`)
        return Promise.resolve(other.id)
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)))
      }
    },
    addresses: () => (self.started ? [`/memory/${self.id}/p2p/${self.id}`] : []),
  }
}
