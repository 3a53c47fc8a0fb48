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
import { InvalidNetworkKeyError, PeerUnreachableError } from './errors.ts'
import { MemoryGate } from './memory-admission.ts'
import { createMemoryNet, type HubNode } from './memory-net.ts'
import { acceptSafely, callSafely } from './safe.ts'
import type { Admission, NetMessage, PeerIdString, PeerNet } from './index.ts'

export interface MemoryHubInit {
  /** Deliver queued messages on a microtask after each publish instead of waiting for `flush()`. @default false */
  autoFlush?: boolean
  /** Link every new net to every existing one, as mDNS does on a LAN. @default true */
  autoConnect?: boolean
}

/** Per-net options, mirroring `Libp2pNetInit`'s. */
export interface MemoryNetInit {
  /** Proof exchange and verdict on every link, as on libp2p (see `Admission`). @default none */
  admission?: Admission
  /** Nets link only with nets holding the same key (or both none), as with libp2p pnet. @default none */
  networkKey?: Uint8Array
}

export interface MemoryHub {
  /** A new, stopped net. `id` defaults to `peer-<n>`; ids must be unique within the hub. */
  createNet(id?: string, init?: MemoryNetInit): PeerNet
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

type Node = HubNode

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
  /** Callers waiting for an admission verdict (requests to a peer still being admitted). */
  const waiters = new Set<() => void>()

  /** A connection exists: both started, linked, not partitioned, same network key, not refused. */
  const wired = (a: Node, b: Node): boolean =>
    a !== b &&
    a.started &&
    b.started &&
    links.has(pairKey(a.id, b.id)) &&
    !blocked.has(pairKey(a.id, b.id)) &&
    a.networkKey === b.networkKey &&
    !a.gate.blocks(b.id) &&
    !b.gate.blocks(a.id)
  /** The connection carries data: each side has admitted the other. */
  const linked = (a: Node, b: Node): boolean =>
    wired(a, b) && a.gate.accepts(b.id) && b.gate.accepts(a.id)
  const peersOf = (n: Node): PeerIdString[] =>
    [...nodes.values()].filter((m) => linked(n, m)).map((m) => m.id)
  const subscribed = (n: Node, topic: string): boolean => n.started && n.subs.has(topic)

  /** Starts admission on new connections, forgets it on lost ones. */
  function admit(): void {
    for (const n of nodes.values()) {
      for (const m of nodes.values()) {
        if (n === m) continue
        if (!wired(n, m)) {
          n.gate.forget(m.id)
          continue
        }
        n.gate.begin(
          m.id,
          async () => (m.gate.admission === undefined ? undefined : m.gate.admission.proof()),
          (verdict) => {
            // none in time: cut, and m is not told it was refused
            if (verdict === undefined) links.delete(pairKey(n.id, m.id))
            else if (!verdict.admitted) {
              links.delete(pairKey(n.id, m.id))
              const refusal = { peer: n.id, code: verdict.code, reason: verdict.reason }
              for (const cb of [...m.refusalListeners])
                callSafely(log, 'onRefused listener', () => cb(refusal))
            }
            refresh()
          },
        )
      }
    }
  }

  /** After any topology change: drop requests that lost their link, tell listeners who changed. */
  function refresh(): void {
    admit()
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
      const added = peers.filter((p) => !n.lastPeers.includes(p))
      n.lastPeers = peers
      for (const cb of [...n.peerListeners]) callSafely(log, 'onPeers listener', () => cb(peers))
      for (const p of added) {
        const other = nodes.get(p) as Node
        for (const topic of n.subs.keys()) if (subscribed(other, topic)) tellSubscribed(n, p, topic)
      }
    }
    for (const wake of [...waiters]) wake()
  }

  function tellSubscribed(n: Node, peer: PeerIdString, topic: string): void {
    for (const cb of [...n.subscribedListeners])
      callSafely(log, 'onSubscribed listener', () => cb(peer, topic))
  }

  /** `n` now follows `topic`: its linked peers that follow it learn so (as gossipsub's RPC tells). */
  function joined(n: Node, topic: string): void {
    if (!n.started) return
    for (const p of peersOf(n)) {
      const other = nodes.get(p) as Node
      if (subscribed(other, topic)) tellSubscribed(other, n.id, topic)
    }
  }

  /** Resolves once `self` and `peer` are linked, or no verdict on the link is pending any more. */
  async function untilAdmitted(
    self: Node,
    peer: PeerIdString,
    signal?: AbortSignal,
  ): Promise<void> {
    for (;;) {
      const other = nodes.get(peer)
      if (other === undefined || linked(self, other) || !wired(self, other)) return
      if (!self.gate.pending(peer) && !other.gate.pending(self.id)) return
      if (signal?.aborted === true) return
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          waiters.delete(wake)
          signal?.removeEventListener('abort', wake)
          resolve()
        }
        waiters.add(wake)
        signal?.addEventListener('abort', wake)
      })
    }
  }

  /** Closes the link between `a` and `b`; both forget the other's admission. */
  function cut(a: Node, b: Node): void {
    links.delete(pairKey(a.id, b.id))
    a.gate.forget(b.id)
    b.gate.forget(a.id)
    refresh()
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
    // as gossipsub's validators: a message not accepted is neither delivered nor forwarded
    let taken = true
    for (const accept of [...(to.accepts.get(m.topic) ?? [])])
      if (!acceptSafely(log, m.topic, () => accept(msg))) taken = false
    if (!taken) return
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

  function createNet(requested?: string, netInit: MemoryNetInit = {}): PeerNet {
    const id = brand(requested ?? `peer-${++counter}`)
    if (nodes.has(id)) throw new Error(`Net id ${id} already in use`)
    if (netInit.networkKey !== undefined && netInit.networkKey.byteLength !== 32)
      throw new InvalidNetworkKeyError(`Network key of ${netInit.networkKey.byteLength} bytes`)
    const self: Node = {
      id,
      started: false,
      subs: new Map(),
      accepts: new Map(),
      handler: undefined,
      peerListeners: new Set(),
      subscribedListeners: new Set(),
      refusalListeners: new Set(),
      lastPeers: [],
      seen: new Set(),
      requests: new Map(),
      gate: new MemoryGate(netInit.admission),
      networkKey: netInit.networkKey === undefined ? undefined : hex(netInit.networkKey),
    }
    if (init.autoConnect !== false) for (const other of nodes.keys()) links.add(pairKey(id, other))
    nodes.set(id, self)
    return createMemoryNet(self, {
      node,
      find: (p: PeerIdString) => nodes.get(p),
      wired,
      linked,
      peersOf,
      subscribed,
      joined,
      enqueue,
      connect,
      refresh,
      untilAdmitted,
      cut,
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
