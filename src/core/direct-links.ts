/**
 * Direct browser↔browser links. Browsers cannot listen, so each holds a circuit-relay reservation
 * on the Node peer that served it, and libp2p never upgrades a relayed connection by itself
 * (docs/net.md): someone must dial `<relay>/p2p-circuit/webrtc/p2p/<peer>`. This does, for every
 * peer that presence says is around and that we have no direct connection to. Only the side with
 * the smaller peer id dials, so two browsers do not race two WebRTC handshakes at each other.
 * A failed dial (no route for ICE, a peer on another relay, a Node peer) is retried with backoff;
 * messages go through the Node peers meanwhile, as they do without any of this.
 */
import { createLogger } from '../net/logger.ts'
import type { PeerIdString, PeerNet, Unsubscribe } from '../net/index.ts'
import type { PresenceInfo } from './presence.ts'

const log = createLogger('parley:core:direct-links')

export interface DirectLinksInit {
  net: Pick<PeerNet, 'peerId' | 'dial' | 'connections'>
  presence: {
    list(): readonly PresenceInfo[]
    onChange(cb: (list: readonly PresenceInfo[]) => void): Unsubscribe
  }
  /** The relay's address with `/p2p/<id>` (the serving peer), or undefined while unknown. */
  relay: () => string | undefined
  /** @default 5000 */
  retryMinMs?: number
  /** @default 60000 */
  retryMaxMs?: number
  /** A WebRTC dial that hangs (ICE with no candidates) is given up after this. @default 10000 */
  attemptTimeoutMs?: number
  now?: () => number
}

interface Attempt {
  inFlight: boolean
  nextAt: number
  delay: number
}

export class DirectLinks {
  readonly #init: Required<DirectLinksInit>
  readonly #attempts = new Map<string, Attempt>()
  #off: Unsubscribe | undefined
  #timer: ReturnType<typeof setInterval> | undefined
  #stopped = new AbortController()

  constructor(init: DirectLinksInit) {
    this.#init = {
      retryMinMs: 5_000,
      retryMaxMs: 60_000,
      attemptTimeoutMs: 10_000,
      now: Date.now,
      ...init,
    }
  }

  start(): void {
    this.#stopped = new AbortController()
    this.#off = this.#init.presence.onChange((list) => this.#check(list))
    // Presence repeats every few seconds anyway; this covers a retry falling due in between.
    this.#timer = setInterval(() => this.#check(this.#init.presence.list()), 2_500)
    this.#check(this.#init.presence.list())
  }

  stop(): void {
    this.#off?.()
    clearInterval(this.#timer)
    this.#stopped.abort()
    this.#attempts.clear()
  }

  /** Peers we dial: around, not us, not the relay, a larger id than ours, no direct link yet. */
  #check(list: readonly PresenceInfo[]): void {
    const relay = this.#init.relay()
    if (relay === undefined || this.#stopped.signal.aborted) return
    const relayId = relay.split('/p2p/').at(-1)
    const { net } = this.#init
    const direct = new Set(
      net
        .connections()
        .filter((c) => c.kind === 'direct')
        .map((c) => c.peer),
    )
    for (const p of list) {
      if (p.self || p.status === 'offline' || p.peer === relayId || p.peer <= net.peerId) continue
      if (direct.has(p.peer)) {
        this.#attempts.delete(p.peer)
        continue
      }
      this.#dial(relay, p.peer)
    }
  }

  #dial(relay: string, peer: PeerIdString): void {
    const { now, retryMinMs, retryMaxMs, attemptTimeoutMs } = this.#init
    const a = this.#attempts.get(peer) ?? { inFlight: false, nextAt: 0, delay: retryMinMs }
    this.#attempts.set(peer, a)
    if (a.inFlight || now() < a.nextAt) return
    a.inFlight = true
    const signal = AbortSignal.any([this.#stopped.signal, AbortSignal.timeout(attemptTimeoutMs)])
    this.#init.net
      .dial(`${relay}/p2p-circuit/webrtc/p2p/${peer}`, { signal })
      .then(() => {
        log('direct WebRTC link to %s through %s', peer, relay)
        a.delay = retryMinMs
      })
      .catch((err: unknown) => {
        log('no direct link to %s yet (retry in %d ms): %e', peer, a.delay, err)
        a.nextAt = now() + a.delay
        a.delay = Math.min(a.delay * 2, retryMaxMs)
      })
      .finally(() => (a.inFlight = false))
  }
}
