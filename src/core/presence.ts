/**
 * Presence: every peer signs and gossips `{ name, status }` every few seconds; a peer not heard
 * from for {@link PresenceInit.timeoutMs} shows as offline with its last-seen time.
 */
import { createLogger } from '../net/logger.ts'
import type { PeerIdString, PeerNet, Unsubscribe } from '../net/index.ts'
import { PRESENCE_TOPIC } from '../net/constants.ts'
import { decodeFrame, encodeFrame } from '../crdt/wire.ts'
import { signPresence, verifyPresence } from '../crdt/presence-sig.ts'
import { authorId } from '../crdt/entry.ts'
import type { Identity } from './identity.ts'
import type { IngestLimiter } from './ingest-limit.ts'

const log = createLogger('parley:core:presence')

export type PresenceStatus = 'online' | 'away' | 'offline'

export interface PresenceInfo {
  author: string
  peer: PeerIdString
  name: string
  status: PresenceStatus
  /** When we last heard from it (ms since epoch, our clock). */
  lastSeen: number
  self: boolean
}

export interface PresenceInit {
  net: PeerNet
  identity: Identity
  name: string
  /** @default 5000 */
  intervalMs?: number
  /** @default 12000 — with the 1 s check, a vanished peer is offline within 13 s. */
  timeoutMs?: number
  now?: () => number
  /** Announcements over this budget per (peer, device) are dropped unverified. @default none */
  limiter?: IngestLimiter
}

export class Presence {
  readonly #init: Required<Omit<PresenceInit, 'name' | 'limiter'>>
  readonly #limiter: IngestLimiter | undefined
  #name: string
  #status: PresenceStatus = 'online'
  #seq = 0
  readonly #people = new Map<string, PresenceInfo & { seq: number }>()
  readonly #listeners = new Set<(list: readonly PresenceInfo[]) => void>()
  #timers: ReturnType<typeof setInterval>[] = []
  #off: Unsubscribe | undefined

  constructor(init: PresenceInit) {
    this.#init = { intervalMs: 5_000, timeoutMs: 12_000, now: Date.now, ...init }
    this.#name = init.name
    this.#limiter = init.limiter
    // Receivers drop announcements whose seq is not above the last one they saw from our peer:
    // start from the clock so that seq keeps growing across restarts (from 0, a restarted device
    // was ignored, shown offline, until it had announced as often as before).
    this.#seq = this.#init.now()
  }

  start(): void {
    this.#off = this.#init.net.subscribe(
      PRESENCE_TOPIC,
      (msg) => void this.#receive(msg.data, msg.from),
      { accept: (msg) => this.#accept(msg.data, msg.from) },
    )
    void this.#announce()
    this.#timers.push(setInterval(() => void this.#announce(), this.#init.intervalMs))
    this.#timers.push(setInterval(() => this.#expire(), 1_000))
    for (const t of this.#timers) t.unref?.()
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t)
    this.#timers = []
    this.#status = 'offline'
    await this.#announce()
    this.#off?.()
  }

  set(status: 'online' | 'away', name?: string): void {
    this.#status = status
    if (name !== undefined) this.#name = name
    void this.#announce()
  }

  list(): PresenceInfo[] {
    const self: PresenceInfo = {
      author: this.#init.identity.authorId,
      peer: this.#init.net.peerId,
      name: this.#name,
      status: this.#status,
      lastSeen: this.#init.now(),
      self: true,
    }
    return [self, ...[...this.#people.values()].map(({ seq: _seq, ...p }) => p)]
  }

  onChange(cb: (list: readonly PresenceInfo[]) => void): Unsubscribe {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }

  #emit(): void {
    const list = this.list()
    for (const cb of this.#listeners) cb(list)
  }

  async #announce(): Promise<void> {
    // With no peer connected (offline, or a browser whose node has not started yet) an announce
    // reaches nobody: not signed at all (a browser's first signature builds noble's tables, tens
    // of ms, which would otherwise land on the reload's path to its first paint).
    if (this.#init.net.peers().length === 0) return
    try {
      const body = {
        author: this.#init.identity.signer.publicKey,
        peer: this.#init.net.peerId,
        name: this.#name,
        status: this.#status,
        wall: this.#init.now(),
        seq: ++this.#seq,
      }
      const sig = await signPresence(this.#init.identity.signer, body)
      await this.#init.net.publish(PRESENCE_TOPIC, encodeFrame({ type: 'presence', ...body, sig }))
    } catch (err) {
      log('presence announce failed: %e', err)
    }
  }

  /** Asked by the net before delivering or forwarding: a presence within its (peer, device) budget. */
  #accept(data: Uint8Array, from: PeerIdString): boolean {
    try {
      const f = decodeFrame(data)
      return (
        f.type === 'presence' && this.#limiter?.take(from, authorId(f.author), 'presence') !== false
      )
    } catch (err) {
      log('malformed presence from %s dropped: %e', from, err)
      return false
    }
  }

  async #receive(data: Uint8Array, from: PeerIdString): Promise<void> {
    try {
      const f = decodeFrame(data)
      if (f.type !== 'presence') return
      if (!(await verifyPresence(this.#init.identity.crypto, f))) {
        this.#limiter?.penalize(from, authorId(f.author))
        log.error('forged presence for %s dropped', f.name)
        return
      }
      const author = authorId(f.author)
      if (author === this.#init.identity.authorId) return
      const known = this.#people.get(author)
      if (known !== undefined && known.peer === f.peer && f.seq <= known.seq) return
      this.#people.set(author, {
        author,
        peer: f.peer as PeerIdString,
        name: f.name,
        status: f.status,
        lastSeen: this.#init.now(),
        seq: f.seq,
        self: false,
      })
      this.#emit()
    } catch (err) {
      log('malformed presence dropped: %e', err)
    }
  }

  #expire(): void {
    const cutoff = this.#init.now() - this.#init.timeoutMs
    let changed = false
    for (const p of this.#people.values()) {
      if (p.status !== 'offline' && p.lastSeen < cutoff) {
        p.status = 'offline'
        changed = true
      }
    }
    if (changed) this.#emit()
  }
}
