/**
 * Getting lost links back. libp2p 3 redials nothing by itself, and its connection monitor aborts
 * a link whose ping comes back late (≥ 5 s: an event loop starved by a flood, say), so two peers
 * that dialled each other once stayed apart for good (docs/reliability.md, "Abuse"). A peer we
 * had a direct link to, and were admitted with (without admission: connected to), is dialled
 * again by its id when its last connection closes — libp2p's peer store holds the addresses
 * identify told us — with jittered backoff (short while the loss is fresh: see
 * `REDIAL_FRESH_ATTEMPTS`), until it is back or one of these says stop:
 * - it is one we refused (the gate blocks it), it refused us, or the caller evicted it;
 * - we have no address to dial it on (a browser, reachable only through its relay);
 * - `REDIAL_MAX_ATTEMPTS` dials in a row failed (a peer gone for good; if it comes back, it
 *   dials us, or discovery or the bootstrap list finds it).
 * Relayed and WebRTC links are left alone: a browser redials its serving peer as a bootstrap
 * peer, and direct-links.ts redials browsers.
 */
import type { Connection, Libp2p, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  DIAL_TIMEOUT_MS,
  REDIAL_FRESH_ATTEMPTS,
  REDIAL_FRESH_DIAL_TIMEOUT_MS,
  REDIAL_FRESH_MAX_MS,
  REDIAL_MAX_ATTEMPTS,
  REDIAL_MAX_MS,
  REDIAL_MIN_MS,
} from './constants.ts'

interface Lost {
  /** Dials since the peer was last admitted (a link that comes up but is not admitted counts). */
  attempts: number
  delay: number
  timer: ReturnType<typeof setTimeout> | undefined
  dialing: boolean
}

/** Why a redial would be wrong now; undefined when it is not. */
export type RedialVeto = (peer: string) => string | undefined

/** Dial errors after which redialling a peer is pointless: it is not reachable from here. */
export const HOPELESS = new Set(['NoValidAddressesError', 'DialDeniedError'])

export class Redialer {
  readonly #log: Logger
  readonly #veto: RedialVeto
  /** Peers to redial when lost, and the lost ones' backoff. */
  readonly #known = new Map<string, Lost | undefined>()
  #node: Libp2p | undefined
  #shutdown = new AbortController()

  constructor(log: Logger, veto: RedialVeto) {
    this.#log = log
    this.#veto = veto
  }

  attach(node: Libp2p): void {
    this.#node = node
    this.#shutdown = new AbortController()
  }

  detach(): void {
    this.#node = undefined
    this.#shutdown.abort()
    for (const lost of this.#known.values()) clearTimeout(lost?.timer)
    this.#known.clear()
  }

  /** `peer` is one of ours (admitted, connected): redial it when lost, if a link to it is direct. */
  remember(peer: string, conns: readonly Connection[]): void {
    if (!conns.some(redialable)) return
    const lost = this.#known.get(peer)
    clearTimeout(lost?.timer)
    this.#known.set(peer, undefined)
  }

  /** Never redial `peer` (until it is remembered again). */
  forget(peer: string): void {
    clearTimeout(this.#known.get(peer)?.timer)
    this.#known.delete(peer)
  }

  /** `peer`'s last connection closed: dial it again soon, if it is one of ours. */
  lost(peer: string): void {
    if (!this.#known.has(peer)) return
    const lost = this.#known.get(peer)
    if (lost === undefined) {
      const fresh = { attempts: 0, delay: REDIAL_MIN_MS, timer: undefined, dialing: false }
      this.#known.set(peer, fresh)
    } else if (lost.timer !== undefined || lost.dialing) return
    this.#schedule(peer)
  }

  #schedule(peer: string): void {
    const lost = this.#known.get(peer)
    if (lost === undefined || this.#shutdown.signal.aborted) return
    const why = this.#veto(peer)
    if (why !== undefined) {
      this.#log('not redialling %s: %s', peer, why)
      this.forget(peer)
      return
    }
    if (lost.attempts >= REDIAL_MAX_ATTEMPTS) {
      this.#log('giving up on %s after %d redials', peer, lost.attempts)
      this.forget(peer)
      return
    }
    const { wait, delay } = backoff(lost.delay, lost.attempts + 1, REDIAL_MAX_MS)
    lost.delay = delay
    lost.timer = setTimeout(() => this.#dial(peer, lost), wait)
  }

  #dial(peer: string, lost: Lost): void {
    const node = this.#node
    if (node === undefined || this.#known.get(peer) !== lost) return
    lost.timer = undefined
    const id = peerIdFromString(peer)
    // Back already (it dialled us, or discovery did): done.
    if (node.getConnections(id).length > 0) return this.#back(peer, lost)
    lost.attempts++
    lost.dialing = true
    redial(node, id, this.#shutdown.signal, lost.attempts <= REDIAL_FRESH_ATTEMPTS).then(
      () => this.#back(peer, lost),
      (err: unknown) => {
        lost.dialing = false
        if (this.#shutdown.signal.aborted || this.#known.get(peer) !== lost) return
        const name = err instanceof Error ? err.name : ''
        if (HOPELESS.has(name)) {
          this.#log('not redialling %s: %s', peer, name)
          this.forget(peer)
          return
        }
        this.#log('redial %d of %s failed - %e', lost.attempts, peer, err)
        this.#schedule(peer)
      },
    )
  }

  /** Connected again; the backoff is reset only once `peer` is admitted again (`remember`). */
  #back(peer: string, lost: Lost): void {
    lost.dialing = false
    if (this.#known.get(peer) === lost)
      this.#log('%s is back after %d redials', peer, lost.attempts)
  }
}

/**
 * Before dial number `n` (from 1) of a lost peer: how long to wait (`delay` ± 25 %, so that both
 * ends, and every peer of an office, do not redial at the same instant), and the delay after it —
 * doubled, up to `REDIAL_FRESH_MAX_MS` while the loss is fresh, then up to `max`.
 */
export function backoff(delay: number, n: number, max: number): { wait: number; delay: number } {
  return {
    wait: delay * (0.75 + Math.random() / 2),
    delay: Math.min(delay * 2, n < REDIAL_FRESH_ATTEMPTS ? REDIAL_FRESH_MAX_MS : max),
  }
}

/**
 * Dials `target` again (`force`: a new connection even if one is open). A `fresh` dial whose
 * transport connection has not opened within `connectMs` (its SYNs dropped: the link is still
 * down; default `REDIAL_FRESH_DIAL_TIMEOUT_MS`) gives up then, so
 * the next try starts soon after the link is back; once the connection is open and its upgrade
 * (Noise, yamux) has begun, it gets the whole `DIAL_TIMEOUT_MS`, as every other dial does — a
 * handshake on a loaded machine can be slow.
 */
export async function redial(
  node: Pick<Libp2p, 'dial'>,
  target: PeerId | Multiaddr,
  shutdown: AbortSignal,
  fresh: boolean,
  { force = false, connectMs = REDIAL_FRESH_DIAL_TIMEOUT_MS } = {},
): Promise<Connection> {
  const signals = [shutdown, AbortSignal.timeout(DIAL_TIMEOUT_MS)]
  if (!fresh) return node.dial(target, { signal: AbortSignal.any(signals), force })
  const connecting = new AbortController()
  const timer = setTimeout(
    () =>
      connecting.abort(
        new DOMException(`no connection within ${connectMs} ms: retrying afresh`, 'TimeoutError'),
      ),
    connectMs,
  )
  try {
    return await node.dial(target, {
      force,
      signal: AbortSignal.any([...signals, connecting.signal]),
      onProgress: (e: { type: string }) => {
        if (e.type.startsWith('upgrader:')) clearTimeout(timer)
      },
    })
  } finally {
    clearTimeout(timer)
  }
}

/** A direct link on a transport we dial by address (not a relay hop, not WebRTC). */
export function redialable(conn: Connection): boolean {
  if (conn.status !== 'open' || !conn.direct) return false
  const addr = conn.remoteAddr.toString()
  return !addr.includes('/p2p-circuit') && !addr.includes('/webrtc')
}
