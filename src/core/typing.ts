/**
 * Typing indicators: ephemeral, signed, gossiped on one topic, never stored. A typist announces at
 * most every {@link TYPING_RESEND_MS} while keys are pressed; a receiver shows it for
 * {@link TYPING_SHOW_MS} after the last announcement.
 */
import { createLogger } from '../net/logger.ts'
import { TOPIC_PREFIX, type PeerIdString, type PeerNet, type Unsubscribe } from '../net/index.ts'
import { authorFromId, isRoomId } from '../crdt/entry.ts'
import type { Identity } from './identity.ts'
import type { IngestLimiter } from './ingest-limit.ts'

const log = createLogger('parley:core:typing')

export const TYPING_TOPIC = `${TOPIC_PREFIX}/typing`
export const TYPING_RESEND_MS = 2_500
export const TYPING_SHOW_MS = 5_000
const DOMAIN = 'parley/typing/1\0'

interface TypingWire {
  room: string
  author: string
  wall: number
  sig: string
}

const enc = new TextEncoder()
const message = (t: Omit<TypingWire, 'sig'>): Uint8Array =>
  enc.encode(`${DOMAIN}${t.room}\0${t.author}\0${t.wall}`)
const toB64 = (b: Uint8Array): string => btoa(String.fromCharCode(...b))
const fromB64 = (s: string): Uint8Array => Uint8Array.from(atob(s), (c) => c.charCodeAt(0))

function parse(data: Uint8Array): TypingWire | undefined {
  if (data.length > 1024) return undefined
  const v: unknown = JSON.parse(new TextDecoder().decode(data))
  if (typeof v !== 'object' || v === null) return undefined
  const { room, author, wall, sig } = v as Record<string, unknown>
  // a room id, or any signed string would become a key of `#seen`
  if (!isRoomId(room) || typeof author !== 'string' || typeof sig !== 'string') return undefined
  return typeof wall === 'number' ? { room, author, wall, sig } : undefined
}

export interface TypingInit {
  net: PeerNet
  identity: Identity
  now?: () => number
  /** Announcements over this budget per (peer, typist) are dropped unverified. @default none */
  limiter?: IngestLimiter
}

export class Typing {
  readonly #net: PeerNet
  readonly #identity: Identity
  readonly #now: () => number
  readonly #limiter: IngestLimiter | undefined
  /** room → author → when we last heard. */
  readonly #seen = new Map<string, Map<string, number>>()
  readonly #sent = new Map<string, number>()
  readonly #listeners = new Set<(room: string) => void>()
  #off: Unsubscribe | undefined
  #timer: ReturnType<typeof setInterval> | undefined

  constructor(init: TypingInit) {
    this.#net = init.net
    this.#identity = init.identity
    this.#now = init.now ?? Date.now
    this.#limiter = init.limiter
  }

  start(): void {
    this.#off = this.#net.subscribe(TYPING_TOPIC, (msg) => void this.#receive(msg.data, msg.from), {
      accept: (msg) => this.#accept(msg.data, msg.from),
    })
    this.#timer = setInterval(() => this.#expire(), 1_000)
    this.#timer.unref?.()
  }

  stop(): void {
    this.#off?.()
    clearInterval(this.#timer)
  }

  /** Says we are typing in `room` (throttled). */
  notify(room: string): void {
    const now = this.#now()
    if (now - (this.#sent.get(room) ?? 0) < TYPING_RESEND_MS) return
    this.#sent.set(room, now)
    void this.#send(room, now)
  }

  /** We sent our message: stop showing us as typing there at once (next keypress announces). */
  stopped(room: string): void {
    this.#sent.delete(room)
  }

  /** Rooms someone is shown typing in (expired ones are dropped each second). */
  rooms(): string[] {
    return [...this.#seen.keys()]
  }

  /** Author ids typing in `room` now (not us). */
  typers(room: string): string[] {
    return [...(this.#seen.get(room)?.keys() ?? [])]
  }

  onChange(cb: (room: string) => void): Unsubscribe {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }

  async #send(room: string, wall: number): Promise<void> {
    try {
      const body = { room, author: this.#identity.authorId, wall }
      const sig = toB64(await this.#identity.signer.sign(message(body)))
      await this.#net.publish(TYPING_TOPIC, enc.encode(JSON.stringify({ ...body, sig })))
    } catch (err) {
      log('typing announcement failed: %e', err)
    }
  }

  /** Asked by the net before delivering or forwarding: a note within its (peer, typist) budget. */
  #accept(data: Uint8Array, from: PeerIdString): boolean {
    try {
      const t = parse(data)
      return t !== undefined && this.#limiter?.take(from, t.author, 'typing') !== false
    } catch (err) {
      log('malformed typing announcement from %s dropped: %e', from, err)
      return false
    }
  }

  async #receive(data: Uint8Array, from: PeerIdString): Promise<void> {
    try {
      const t = parse(data)
      if (t === undefined || t.author === this.#identity.authorId) return
      if (Math.abs(this.#now() - t.wall) > 60_000) return
      const ok = await this.#identity.crypto.verify(
        authorFromId(t.author),
        fromB64(t.sig),
        message(t),
      )
      if (!ok) {
        this.#limiter?.penalize(from, t.author)
        return log('forged typing announcement dropped')
      }
      let m = this.#seen.get(t.room)
      if (m === undefined) this.#seen.set(t.room, (m = new Map()))
      const had = m.has(t.author)
      m.set(t.author, this.#now())
      if (!had) this.#emit(t.room)
    } catch (err) {
      log('malformed typing announcement dropped: %e', err)
    }
  }

  /** Someone's message arrived: they stopped typing. */
  clear(room: string, author: string): void {
    if (this.#seen.get(room)?.delete(author) === true) this.#emit(room)
  }

  #expire(): void {
    const cutoff = this.#now() - TYPING_SHOW_MS
    for (const [room, m] of this.#seen) {
      let changed = false
      for (const [a, t] of m) if (t < cutoff && m.delete(a)) changed = true
      // rooms nobody types in are dropped: notes for ever new rooms must not pile up
      if (m.size === 0) this.#seen.delete(room)
      if (changed) this.#emit(room)
    }
  }

  #emit(room: string): void {
    for (const cb of this.#listeners) cb(room)
  }
}
