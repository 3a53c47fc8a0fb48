/**
 * Room announcements on {@link ROOMS_TOPIC}: "I hold room R's chains of these authors up to these
 * seqs". Sent a moment after entries arrived here outside the room's gossip — a catch-up, a push
 * request, a local meta write — once per burst, naming the authors they moved on. A peer that
 * holds the room and less of one of them looks again a moment later (`ANNOUNCE_PULL_DELAY_MS`: what
 * is only in flight by gossip has arrived by then) and, still short, pulls it: from the announcer if
 * connected to it, else from the forwarder. What such a pull brings is not announced again: every
 * peer heard the announcement and looks for itself. An author the peer holds nothing of is pulled
 * at once as well (and looked at again), and a room not held yet that the peer would hold is
 * pulled at once and announced on.
 * Announcing a digest instead, every peer whose digest differed pulled at once — on a busy network
 * all of them, every time — and their pulls were announced in turn (docs/reliability.md,
 * "Announcements that fed on themselves"). Digest announcements of older peers are still followed.
 */
import { createLogger } from '../net/logger.ts'
import type { PeerIdString, PeerNet, Unsubscribe } from '../net/index.ts'
import { ROOMS_TOPIC } from '../net/constants.ts'
import { equalBytes } from '../crdt/entry.ts'
import { decodeFrame, encodeFrame, type Frame } from '../crdt/wire.ts'
import { hex } from './store.ts'
import type { RoomSync } from './sync.ts'
import type { IngestLimiter } from './ingest-limit.ts'

const log = createLogger('parley:core:announce')

/** How long announcements of one room are gathered into one. */
const ANNOUNCE_DELAY_MS = 50
/** How long a peer short of what an announcement names waits for gossip before it pulls. */
export const ANNOUNCE_PULL_DELAY_MS = 1_000
/** Most announced rooms waiting for that look; more are dropped (anti-entropy repairs them). */
const MAX_HEARD_ROOMS = 4_096
/**
 * How many times a peer short of an announcement it heard through a forwarder looks again (each
 * `ANNOUNCE_PULL_DELAY_MS` apart) and pulls from the forwarder: that one heard it too, and may be
 * pulling it from the announcer only now. One look when the announcer is the source.
 */
const FORWARDED_LOOKS = 3

/** An announced room this peer was short of: the most it heard of each author, and from whom. */
interface Heard {
  have: Map<string, { author: Uint8Array; seq: number }>
  source: PeerIdString
  /** The announcer itself is the source (not a forwarder, which may not hold it yet). */
  direct: boolean
  looks: number
  timer: ReturnType<typeof setTimeout> | undefined
}

export class RoomAnnouncer {
  readonly #net: PeerNet
  readonly #sync: RoomSync
  readonly #accepts: (room: string) => boolean
  readonly #limiter: IngestLimiter | undefined
  /** Rooms to announce soon, with the authors to name (by hex). */
  readonly #due = new Map<string, Map<string, Uint8Array>>()
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>()
  /** Announced rooms we were short of, looked at again after `ANNOUNCE_PULL_DELAY_MS`. */
  readonly #heard = new Map<string, Heard>()
  #off: Unsubscribe | undefined

  /** Announcements over `limiter`'s budget per (peer, sender) are dropped unread. */
  constructor(
    net: PeerNet,
    sync: RoomSync,
    accepts: (room: string) => boolean,
    limiter?: IngestLimiter,
  ) {
    this.#net = net
    this.#sync = sync
    this.#accepts = accepts
    this.#limiter = limiter
  }

  start(): void {
    this.#off = this.#net.subscribe(ROOMS_TOPIC, (msg) => this.#receive(msg.data, msg.from), {
      accept: (msg) => this.#accept(msg.data, msg.from),
    })
  }

  stop(): void {
    this.#off?.()
    this.#off = undefined
    for (const t of this.#timers.values()) clearTimeout(t)
    this.#timers.clear()
    this.#due.clear()
    for (const h of this.#heard.values()) clearTimeout(h.timer)
    this.#heard.clear()
  }

  /** Tells peers (soon, once per burst) how far we hold `authors`' chains in `room`. */
  soon(room: string, authors: readonly Uint8Array[]): void {
    if (this.#off === undefined || authors.length === 0) return
    let due = this.#due.get(room)
    if (due === undefined) this.#due.set(room, (due = new Map()))
    for (const a of authors) due.set(hex(a), a)
    if (this.#timers.has(room)) return
    const t = setTimeout(() => {
      this.#timers.delete(room)
      const named = this.#due.get(room)
      this.#due.delete(room)
      if (named !== undefined) void this.#announce(room, [...named.values()])
    }, ANNOUNCE_DELAY_MS)
    t.unref?.()
    this.#timers.set(room, t)
  }

  async #announce(room: string, authors: readonly Uint8Array[]): Promise<void> {
    const have = authors
      .map((author) => ({ author, seq: this.#sync.contigOf(room, author) }))
      .filter((a) => a.seq > 0)
    if (have.length === 0) return
    const frame = encodeFrame({ type: 'announce', sender: this.#net.peerId, room, have })
    await this.#net.publish(ROOMS_TOPIC, frame).catch(() => 0)
  }

  /** Asked by the net before delivering or forwarding: a digest within its (peer, sender) budget. */
  #accept(data: Uint8Array, from: PeerIdString): boolean {
    try {
      const f = decodeFrame(data)
      return (
        (f.type === 'announce' || f.type === 'digest') &&
        this.#limiter?.take(from, f.sender, 'announcement') !== false
      )
    } catch (err) {
      log('malformed room announcement from %s: %e', from, err)
      return false
    }
  }

  #receive(data: Uint8Array, from: PeerIdString): void {
    let f: Frame
    try {
      f = decodeFrame(data)
    } catch (err) {
      log('malformed room announcement from %s: %e', from, err)
      return
    }
    if (f.type !== 'announce' && f.type !== 'digest') return
    const source = this.#net.peers().find((p) => p === f.sender) ?? from
    if (f.type === 'announce') {
      if (!this.#accepts(f.room) || !this.#sync.lacks(f.room, f.have)) return
      // A room new here (a room just created, a dm) spreads no other way: pulled at once, and
      // what the pull brings announced on to the peers behind us.
      if (!this.#sync.holds(f.room)) return this.#sync.schedulePull(source, f.room)
      // An author new here (a member's first words, written offline) is pulled at once too, and
      // looked at again like the rest; announced on, every peer that had not had its first entry
      // by gossip yet announced it to all again (docs/reliability.md, "Pushes that overtook").
      if (f.have.some((a) => this.#sync.contigOf(f.room, a.author) === 0)) {
        const still = (): boolean => this.#sync.lacks(f.room, f.have)
        this.#sync.schedulePull(source, f.room, { announce: false, still })
      }
      this.#short(f.room, f.have, source, source === f.sender)
      return
    }
    for (const { room, digest } of f.rooms) {
      if (!this.#accepts(room)) continue
      this.#sync.digestOf(room).then(
        (ours) => {
          if (ours === undefined || !equalBytes(ours, digest))
            this.#sync.schedulePull(source, room, { announce: false })
        },
        // the store closing under us (shutdown) or failing to read: this announcement is lost,
        // anti-entropy's next round asks again
        (err: unknown) => log('digest of %s for an announcement failed: %e', room, err),
      )
    }
  }

  /** Short of what an announcement of `room` names: pull it if still short in a moment. */
  #short(
    room: string,
    have: readonly { author: Uint8Array; seq: number }[],
    source: PeerIdString,
    direct: boolean,
  ): void {
    let heard = this.#heard.get(room)
    if (heard === undefined) {
      if (this.#heard.size >= MAX_HEARD_ROOMS) return
      heard = { have: new Map(), source, direct, looks: 0, timer: undefined }
      this.#heard.set(room, heard)
      this.#lookLater(room, heard)
    }
    if (direct || !heard.direct) heard.source = source
    heard.direct ||= direct
    for (const a of have) {
      const k = hex(a.author)
      if ((heard.have.get(k)?.seq ?? 0) < a.seq) heard.have.set(k, a)
    }
  }

  #lookLater(room: string, heard: Heard): void {
    heard.timer = setTimeout(() => {
      const done = (): void => void this.#heard.delete(room)
      const have = [...heard.have.values()]
      if (this.#off === undefined || !this.#sync.lacks(room, have)) return done()
      this.#sync.schedulePull(heard.source, room, {
        announce: false,
        still: () => this.#sync.lacks(room, have),
      })
      heard.looks += 1
      if (heard.direct || heard.looks >= FORWARDED_LOOKS) return done()
      this.#lookLater(room, heard)
    }, ANNOUNCE_PULL_DELAY_MS)
    heard.timer.unref?.()
  }
}
