/**
 * Keeping links honest. Every connection is pinged each `PING_INTERVAL_MS` (libp2p's own
 * connection monitor is off, this one does what it did and more; how, below): a ping
 * unanswered within its adaptive timeout (5 s or more) aborts the connection, and the lost peer is
 * redialled (redial.ts).
 *
 * The more: a direct link whose ping has waited `LINK_STALL_MS` is probed — a fresh connection to
 * the same peer is dialled beside it, and again while the ping waits (each probe gives up after
 * `LINK_PROBE_CONNECT_MS` without a connection). If a probe comes up while the old ping still
 * waits, the network is back but the old link is stuck in TCP's retransmission backoff (after a
 * cut or heavy loss it would resume only at its next retransmission, seconds later): the probe and
 * the old link are closed and the peer is redialled at once, as for any lost link. A peer whose
 * event loop is only slow answers the probe's handshake no sooner than the ping, and keeps its link.
 *
 * A link that is receiving bytes is alive, however long its ping waits: a file transfer fills the
 * sockets' buffers, and a ping waits behind the data (over a second on a slow link, or a loaded
 * machine). So a link counts as stuck, or dead at its ping's timeout, only when it has received
 * nothing for `LINK_STALL_MS` (`watch` wraps the stream muxer to see every byte that arrives); a
 * busy link keeps its transfer and is pinged again.
 * A ping is yamux's own (one frame each way on the connection's muxer, answered by the muxer
 * itself), not a stream of libp2p's ping protocol, which a muxer without pings (WebRTC's) still
 * gets: a stream costs a dozen frames and a protocol negotiation on both ends, and on 50 idle peers
 * those pings were a sixth of their work (docs/reliability.md, Sustained load).
 * A link whose ping came back slow (`LINK_SLOW_PING_MS`) or stalled is troubled for
 * `LINK_TROUBLED_FOR_MS` and pinged each `LINK_TROUBLED_PING_MS` instead: a lossy link is the one
 * likeliest to be stuck when the loss ends, and its next ping should not be 3 s away. While this
 * process is overloaded (its own timers late), slow pings are its own and mark nothing troubled.
 */
import type {
  ComponentLogger,
  Connection,
  Libp2p,
  Logger,
  MessageStream,
  Stream,
  StreamMuxerFactory,
} from '@libp2p/interface'
import { AdaptiveTimeout, byteStream } from '@libp2p/utils'
import {
  LINK_BUSY_LAG_MS,
  LINK_PROBE_CONNECT_MS,
  LINK_SLOW_PING_MS,
  LINK_STALL_MS,
  LINK_TROUBLED_FOR_MS,
  LINK_TROUBLED_PING_MS,
  PING_INTERVAL_MS,
} from './constants.ts'
import { afterReads } from './after-reads.ts'
import { raceSignal } from './race-signal.ts'
import { HOPELESS, redial, redialable } from './redial.ts'

const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_BYTES = 32

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A watched connection: when it last received bytes, and its muxer's own ping if it has one. */
interface Watched {
  at: number
  ping?: () => Promise<number>
}

export interface LinkMonitorTimes {
  pingIntervalMs: number
  troubledPingMs: number
  slowPingMs: number
  troubledForMs: number
  stallMs: number
  probeConnectMs: number
  /** Least time a ping waits before its link is aborted (libp2p's adaptive timeout's floor). */
  minPingTimeoutMs?: number
}

const DEFAULT_TIMES: LinkMonitorTimes = {
  pingIntervalMs: PING_INTERVAL_MS,
  troubledPingMs: LINK_TROUBLED_PING_MS,
  slowPingMs: LINK_SLOW_PING_MS,
  troubledForMs: LINK_TROUBLED_FOR_MS,
  stallMs: LINK_STALL_MS,
  probeConnectMs: LINK_PROBE_CONNECT_MS,
}

/** Raised on a link that is closed because a fresh connection to its peer came up while it hung. */
export class LinkStuckError extends Error {
  override name = 'LinkStuckError'
}

export class LinkMonitor {
  readonly #log: Logger
  readonly #times: LinkMonitorTimes
  readonly #timeout: AdaptiveTimeout
  /** Per open connection: when its last ping went out, whether it waits, until when it is troubled. */
  #links = new WeakMap<Connection, { pingedAt: number; pinging: boolean; troubledUntil: number }>()
  #shutdown = new AbortController()
  /**
   * One controller per ping in flight, aborted at `detach`. A ping's timeout listens on its own,
   * not on `#shutdown`: a peer pinging its dozens of links in one tick would otherwise put dozens
   * of listeners on one signal (and Node warns of a leak past 10).
   */
  readonly #inFlight = new Set<AbortController>()
  #timer: ReturnType<typeof setInterval> | undefined
  /** Until when this process counts as overloaded: its own ticks came late (see `#busy`). */
  #busyUntil = 0
  /**
   * When each watched connection last received bytes, and its muxer's own ping if it has one, by
   * the muxer's stream list: the one object a connection shares with its muxer in sight (libp2p's
   * `Connection.streams` returns it).
   */
  readonly #received = new WeakMap<readonly Stream[], Watched>()

  constructor(log: Logger, times: Partial<LinkMonitorTimes> = {}) {
    this.#log = log
    this.#times = { ...DEFAULT_TIMES, ...times }
    this.#timeout = new AdaptiveTimeout(
      this.#times.minPingTimeoutMs === undefined
        ? {}
        : { minTimeout: this.#times.minPingTimeoutMs },
    )
  }

  /**
   * `muxer`, telling this monitor when each connection it multiplexes receives bytes. Pass every
   * stream muxer libp2p is given through this (a connection not watched counts as silent).
   */
  watch<C extends { logger: ComponentLogger }>(
    muxer: (components: C) => StreamMuxerFactory,
  ): (components: C) => StreamMuxerFactory {
    return (components) => {
      const factory = muxer(components)
      return {
        protocol: factory.protocol,
        createStreamMuxer: (stream: MessageStream) => {
          const made = factory.createStreamMuxer(stream)
          const seen: Watched = { at: Date.now() }
          const { ping } = made as { ping?: unknown }
          // yamux's ping (a muxer without one is pinged over a stream). It is given no signal: a
          // ping abandoned by yamux and answered late would abort the connection (yamux takes an
          // unrequested answer for a protocol error); the answer settles it instead, and a ping
          // asked meanwhile waits for the same answer
          if (typeof ping === 'function') seen.ping = () => ping.call(made) as Promise<number>
          this.#received.set(made.streams, seen)
          // the muxer listens from its construction on and never stops: a second listener
          // changes nothing about how the stream buffers
          stream.addEventListener('message', () => {
            seen.at = Date.now()
          })
          return made
        },
      }
    }
  }

  /** How long (ms) since any of `conns` received a byte; undefined if none is watched. */
  quietFor(conns: readonly Connection[]): number | undefined {
    let last: number | undefined
    for (const conn of conns) {
      const at = this.#received.get(conn.streams)?.at
      if (at !== undefined && (last === undefined || at > last)) last = at
    }
    return last === undefined ? undefined : Date.now() - last
  }

  /** Whether `conn` has received nothing for `stallMs` (or is not watched). */
  #silent(conn: Connection): boolean {
    return (this.quietFor([conn]) ?? Infinity) >= this.#times.stallMs
  }

  attach(node: Libp2p): void {
    this.#shutdown = new AbortController()
    const tick = this.#times.troubledPingMs
    let due = Date.now() + tick
    this.#timer = setInterval(() => {
      const now = Date.now()
      if (now - due > LINK_BUSY_LAG_MS) this.#busyUntil = now + this.#times.pingIntervalMs
      due = now + tick
      for (const conn of node.getConnections()) {
        let link = this.#links.get(conn)
        if (link === undefined) {
          link = { pingedAt: now, pinging: false, troubledUntil: 0 }
          this.#links.set(conn, link)
        }
        const every = now < link.troubledUntil ? tick : this.#times.pingIntervalMs
        // half a tick of slack: a timer that fires a little early still pings
        if (!link.pinging && now - link.pingedAt >= every - tick / 2) this.#ping(node, conn, link)
      }
    }, tick)
  }

  detach(): void {
    this.#shutdown.abort()
    for (const stop of this.#inFlight) stop.abort()
    this.#inFlight.clear()
    clearInterval(this.#timer)
    this.#links = new WeakMap()
  }

  #ping(
    node: Libp2p,
    conn: Connection,
    link: { pingedAt: number; pinging: boolean; troubledUntil: number },
  ): void {
    if (conn.status !== 'open') return
    link.pinging = true
    const stop = new AbortController()
    this.#inFlight.add(stop)
    const signal = this.#timeout.getTimeoutSignal({ signal: stop.signal })
    const answered = { done: false }
    const pingedAt = Date.now()
    link.pingedAt = pingedAt
    const stall = setTimeout(() => {
      void afterReads().then(() => {
        if (answered.done) return
        if (!this.#busy()) link.troubledUntil = Date.now() + this.#times.troubledForMs
        this.#probe(node, conn, answered, pingedAt).catch((err: unknown) =>
          this.#log.error('probe of the link to %p failed - %e', conn.remotePeer, err),
        )
      })
    }, this.#times.stallMs)
    this.#pingOnce(conn, signal)
      .catch(async (err: unknown) => {
        await afterReads()
        if (this.#shutdown.signal.aborted || conn.status !== 'open') return
        if (!this.#silent(conn)) {
          this.#log(
            'ping of %p failed but bytes keep arriving: a busy link - %e',
            conn.remotePeer,
            err,
          )
          return
        }
        this.#log.error('ping of %p failed, aborting the link - %e', conn.remotePeer, err)
        conn.abort(err instanceof Error ? err : new Error(String(err)))
      })
      .finally(() => {
        answered.done = true
        clearTimeout(stall)
        this.#timeout.cleanUp(signal)
        this.#inFlight.delete(stop)
        link.pinging = false
        const now = Date.now()
        if (now - pingedAt >= this.#times.slowPingMs && !this.#busy())
          link.troubledUntil = now + this.#times.troubledForMs
      })
  }

  /**
   * Whether this process is overloaded: a tick of the monitor came over `LINK_BUSY_LAG_MS` late
   * within the last ping interval. Then a slow or stalled ping says more about us than about the
   * link, and marks no link troubled: on an overloaded peer, with every link pinged each second,
   * the pings and the probes their stalls start cost more than they found. (Probes of a stalled
   * ping still run: with pings every 3 s they are few.)
   */
  #busy(): boolean {
    return Date.now() < this.#busyUntil
  }

  /** One ping; an unsupported protocol is an answer too (the peer is alive). */
  async #pingOnce(conn: Connection, signal: AbortSignal): Promise<void> {
    const muxerPing = this.#received.get(conn.streams)?.ping
    if (muxerPing !== undefined) {
      conn.rtt = await raceSignal(muxerPing(), signal)
      return
    }
    let stream: Awaited<ReturnType<Connection['newStream']>> | undefined
    try {
      stream = await conn.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true })
      const bytes = byteStream(stream)
      const start = Date.now()
      await Promise.all([
        bytes.write(crypto.getRandomValues(new Uint8Array(PING_BYTES)), { signal }),
        bytes.read({ bytes: PING_BYTES, signal }),
      ])
      conn.rtt = Date.now() - start
      await stream.close({ signal })
    } catch (err) {
      stream?.abort(err instanceof Error ? err : new Error(String(err)))
      if (!(err instanceof Error && err.name === 'UnsupportedProtocolError')) throw err
    }
  }

  /** Dials fresh connections to `conn`'s peer while its ping waits; see the module comment. */
  async #probe(
    node: Libp2p,
    conn: Connection,
    answered: { done: boolean },
    pingedAt: number,
  ): Promise<void> {
    if (!redialable(conn)) return
    const waiting = (): boolean =>
      !answered.done && conn.status === 'open' && !this.#shutdown.signal.aborted
    while (waiting()) {
      const started = Date.now()
      await afterReads()
      if (!waiting()) return
      if (!this.#silent(conn)) {
        // bytes arrive: the ping waits behind data, not on a stuck link (look again soon: a lossy
        // link goes quiet when the loss ends and it backs off, and should be probed then)
        await pause(this.#times.stallMs / 4)
        continue
      }
      let fresh: Connection
      try {
        fresh = await redial(node, conn.remotePeer, this.#shutdown.signal, true, {
          force: true,
          connectMs: this.#times.probeConnectMs,
        })
      } catch (err) {
        // No address to dial it on, or the gate says no: the ping alone decides.
        if (HOPELESS.has(err instanceof Error ? err.name : '')) return
        // A refused connection fails at once: at most one probe a `probeConnectMs`.
        const wait = this.#times.probeConnectMs - (Date.now() - started)
        if (wait > 0) await pause(wait)
        continue
      }
      await afterReads()
      const stuck = waiting() && this.#silent(conn)
      fresh.abort(new LinkStuckError('probe of a stuck link: closed, the peer is redialled'))
      if (!stuck) return
      this.#log(
        'link to %p stuck (ping unanswered for %d ms) while a fresh connection came up: replacing it',
        conn.remotePeer,
        Date.now() - pingedAt,
      )
      conn.abort(new LinkStuckError('stuck while a fresh connection to the peer came up'))
      return
    }
  }
}
