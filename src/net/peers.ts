/**
 * Who we are connected to, and keeping it that way: the deduplicated peer list behind `onPeers`,
 * dialling discovered peers (libp2p 3 does not), redialling lost bootstrap peers with backoff, and
 * the other peers we lose through the {@link Redialer}.
 */
import type { Libp2p, Logger, PeerId, PeerInfo } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import {
  BOOTSTRAP_RETRY_MAX_MS,
  BOOTSTRAP_RETRY_MIN_MS,
  DIAL_TIMEOUT_MS,
  DISCOVERY_REDIAL_MIN_MS,
  REDIAL_FRESH_ATTEMPTS,
} from './constants.ts'
import type { AdmissionGate } from './admission.ts'
import type { CoolOff } from './cool-off.ts'
import { InvalidMultiaddrError } from './errors.ts'
import { asPeerIdString } from './keys.ts'
import { backoff, redial, Redialer } from './redial.ts'
import { callSafely } from './safe.ts'
import { carriesData } from './webrtc-check.ts'
import type { PeerConnectionInfo, PeerIdString, Unsubscribe } from './index.ts'

/** Parses a multiaddr string, throwing `InvalidMultiaddrError` on garbage. */
export function parseMultiaddr(addr: string): Multiaddr {
  try {
    return multiaddr(addr)
  } catch (err) {
    throw new InvalidMultiaddrError(`Invalid multiaddr ${addr}`, { cause: err })
  }
}

/** The `/p2p/<id>` of a multiaddr, if it has one (the last one, for relayed addresses). */
export function peerIdOfAddr(ma: Multiaddr): string | undefined {
  return ma.getComponents().findLast((c) => c.name === 'p2p')?.value
}

interface BootstrapState {
  addr: Multiaddr
  peer: string | undefined
  delay: number
  /** Dials failed in a row (the first `REDIAL_FRESH_ATTEMPTS` are fresh: redial.ts). */
  failures: number
  timer: ReturnType<typeof setTimeout> | undefined
}

export class PeerTracker {
  readonly #log: Logger
  readonly #listeners = new Set<(peers: readonly PeerIdString[]) => void>()
  readonly #bootstrap: BootstrapState[]
  /** Discovery dials in flight, and when a dial to a peer last failed. */
  readonly #dialing = new Set<string>()
  readonly #failedAt = new Map<string, number>()
  #node: Libp2p | undefined
  #shutdown = new AbortController()
  #last: readonly PeerIdString[] = []
  readonly #gate: AdmissionGate | undefined
  readonly #redialer: Redialer
  #offGate = (): void => undefined

  /**
   * With `gate`, only admitted peers are peers (listed, reported, counted as connections). Peers
   * the gate blocks, or `coolOff` holds, are not redialled.
   */
  constructor(log: Logger, bootstrap: readonly string[], gate?: AdmissionGate, coolOff?: CoolOff) {
    this.#log = log
    this.#gate = gate
    this.#bootstrap = bootstrap.map((a) => ({
      addr: parseMultiaddr(a),
      peer: peerIdOfAddr(parseMultiaddr(a)),
      delay: BOOTSTRAP_RETRY_MIN_MS,
      failures: 0,
      timer: undefined,
    }))
    this.#redialer = new Redialer(log, (peer) =>
      gate?.isBlocked(peer) === true
        ? 'refused by us'
        : coolOff?.has(peer) === true
          ? 'cut off for flooding'
          : undefined,
    )
  }

  /** Whether `peer` is one of the bootstrap peers (by the id in its address, or since dialled). */
  isBootstrap(peer: string): boolean {
    return this.#bootstrap.some((b) => b.peer === peer)
  }

  attach(node: Libp2p): void {
    this.#node = node
    this.#shutdown = new AbortController()
    node.addEventListener('peer:connect', this.#onChange)
    node.addEventListener('peer:disconnect', this.#onDisconnect)
    node.addEventListener('peer:discovery', this.#onDiscovery)
    this.#redialer.attach(node)
    const gate = this.#gate
    if (gate === undefined) node.addEventListener('peer:connect', this.#onConnect)
    const offChange = gate?.onChange(this.#onAdmission) ?? (() => undefined)
    // A peer that refused us is not redialled: it would only refuse again.
    const offRefused = gate?.onRefused((r) => this.#redialer.forget(r.peer)) ?? (() => undefined)
    this.#offGate = () => {
      offChange()
      offRefused()
    }
    for (const b of this.#bootstrap) this.#dialBootstrap(b)
    this.#onChange()
  }

  detach(): void {
    const node = this.#node
    this.#node = undefined
    this.#shutdown.abort()
    for (const b of this.#bootstrap) {
      clearTimeout(b.timer)
      b.timer = undefined
      b.delay = BOOTSTRAP_RETRY_MIN_MS
      b.failures = 0
    }
    this.#dialing.clear()
    this.#offGate()
    this.#redialer.detach()
    if (node === undefined) return
    node.removeEventListener('peer:connect', this.#onConnect)
    node.removeEventListener('peer:connect', this.#onChange)
    node.removeEventListener('peer:disconnect', this.#onDisconnect)
    node.removeEventListener('peer:discovery', this.#onDiscovery)
    this.#onChange()
  }

  onPeers(cb: (peers: readonly PeerIdString[]) => void): Unsubscribe {
    const entry = (peers: readonly PeerIdString[]): void => cb(peers)
    this.#listeners.add(entry)
    return () => this.#listeners.delete(entry)
  }

  peers(): readonly PeerIdString[] {
    if (this.#node === undefined) return []
    // Not `getPeers()`: it rebuilds every PeerId from its string (base58 both ways, per peer per
    // call: 5 % of a hub's CPU under load, asked on every room announcement); a connection's
    // remotePeer keeps its string.
    const peers = new Set<string>()
    for (const c of this.#node.getConnections()) peers.add(c.remotePeer.toString())
    return [...peers].filter((p) => this.#admitted(p)).map(asPeerIdString)
  }

  #admitted(peer: string): boolean {
    return this.#gate === undefined || this.#gate.isAdmitted(peer)
  }

  connections(): readonly PeerConnectionInfo[] {
    const byPeer = new Map<string, PeerConnectionInfo>()
    for (const conn of this.#node?.getConnections() ?? []) {
      const peer = asPeerIdString(conn.remotePeer.toString())
      // a WebRTC link not yet verified may carry nothing (webrtc-check.ts): not a link yet
      if (conn.status !== 'open' || !this.#admitted(peer) || !carriesData(conn)) continue
      const info = byPeer.get(peer) ?? { peer, addrs: [], kind: 'relayed' }
      // libp2p's `direct` is false only for a circuit relay hop: a WebRTC link set up through a
      // relay has `/p2p-circuit/webrtc` in its address yet is direct. One direct connection makes
      // the peer direct (its address listed first); relayed links are only a stepping stone.
      if (conn.direct) {
        info.kind = 'direct'
        info.addrs.unshift(conn.remoteAddr.toString())
      } else info.addrs.push(conn.remoteAddr.toString())
      byPeer.set(peer, info)
    }
    return [...byPeer.values()]
  }

  /**
   * Dials a discovered peer unless it is us, already connected, already being dialled, or failed
   * recently. Discovery (mDNS answers every few seconds) must not turn into a dial storm.
   */
  dialDiscovered(info: PeerInfo): void {
    const node = this.#node
    if (node === undefined) return
    const id = info.id.toString()
    if (info.id.equals(node.peerId) || this.#dialing.has(id)) return
    if (node.getConnections(info.id).length > 0) return
    const failed = this.#failedAt.get(id)
    if (failed !== undefined && Date.now() - failed < DISCOVERY_REDIAL_MIN_MS) return
    this.#dialing.add(id)
    const target = info.multiaddrs.length > 0 ? info.multiaddrs : info.id
    node
      .dial(target, { signal: this.#dialSignal() })
      .then(() => this.#failedAt.delete(id))
      .catch((err: unknown) => {
        this.#failedAt.set(id, Date.now())
        this.#log('dial of discovered peer %s failed - %e', id, err)
      })
      .finally(() => this.#dialing.delete(id))
  }

  #dialSignal(): AbortSignal {
    return AbortSignal.any([this.#shutdown.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)])
  }

  #dialBootstrap(b: BootstrapState): void {
    const node = this.#node
    if (node === undefined || this.#shutdown.signal.aborted) return
    b.timer = undefined
    const known = b.peer
    if (known !== undefined && node.getPeers().some((p) => p.toString() === known)) {
      b.delay = BOOTSTRAP_RETRY_MIN_MS
      b.failures = 0
      return
    }
    redial(node, b.addr, this.#shutdown.signal, b.failures < REDIAL_FRESH_ATTEMPTS)
      .then((conn) => {
        b.peer = conn.remotePeer.toString()
        b.delay = BOOTSTRAP_RETRY_MIN_MS
        b.failures = 0
      })
      .catch((err: unknown) => {
        if (this.#shutdown.signal.aborted) return
        b.failures++
        this.#log('bootstrap dial of %a failed, retrying in %d ms - %e', b.addr, b.delay, err)
        this.#scheduleBootstrap(b)
      })
  }

  #scheduleBootstrap(b: BootstrapState): void {
    if (b.timer !== undefined || this.#shutdown.signal.aborted) return
    const { wait, delay } = backoff(b.delay, b.failures + 1, BOOTSTRAP_RETRY_MAX_MS)
    b.delay = delay
    b.timer = setTimeout(() => this.#dialBootstrap(b), wait)
  }

  readonly #onDiscovery = (evt: CustomEvent<PeerInfo>): void => {
    this.dialDiscovered(evt.detail)
  }

  /** The caller evicted `peer`: it is not redialled. */
  forget(peer: string): void {
    this.#redialer.forget(peer)
  }

  readonly #onConnect = (evt: CustomEvent<PeerId>): void => {
    this.#redialer.remember(evt.detail.toString(), this.#node?.getConnections(evt.detail) ?? [])
  }

  readonly #onAdmission = (peer: string): void => {
    if (this.#gate?.isAdmitted(peer) === true)
      this.#redialer.remember(peer, this.#gate.connections(peer))
    this.#onChange()
  }

  readonly #onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const id = evt.detail.toString()
    let bootstrap = false
    for (const b of this.#bootstrap) {
      if (b.peer !== id) continue
      bootstrap = true
      this.#scheduleBootstrap(b)
    }
    // Bootstrap peers have their own loop, redialled for as long as we run.
    if (!bootstrap) this.#redialer.lost(id)
    this.#onChange()
  }

  /** Notifies listeners if the deduplicated peer list changed (libp2p may hold 2 connections per peer). */
  readonly #onChange = (): void => {
    const peers = this.peers()
    if (peers.length === this.#last.length && peers.every((p) => this.#last.includes(p))) return
    this.#last = peers
    for (const cb of [...this.#listeners])
      callSafely(this.#log, 'onPeers listener', () => cb(peers))
  }
}
