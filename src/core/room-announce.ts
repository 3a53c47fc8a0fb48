/**
 * Room announcements on {@link ROOMS_TOPIC}: "I hold new entries of room R (digest D)". Sent a
 * moment after local writes or a catch-up (once per burst); a peer whose own digest differs, and
 * that holds or would hold the room, pulls it — from the announcer if connected to it, else from
 * the forwarder.
 */
import { createLogger } from '../net/logger.ts'
import type { PeerIdString, PeerNet, Unsubscribe } from '../net/index.ts'
import { ROOMS_TOPIC } from '../net/constants.ts'
import { equalBytes } from '../crdt/entry.ts'
import { decodeFrame, encodeFrame } from '../crdt/wire.ts'
import type { RoomSync } from './sync.ts'
import type { IngestLimiter } from './ingest-limit.ts'

const log = createLogger('parley:core:announce')

/** How long announcements of one room are gathered into one. */
const ANNOUNCE_DELAY_MS = 50

export class RoomAnnouncer {
  readonly #net: PeerNet
  readonly #sync: RoomSync
  readonly #accepts: (room: string) => boolean
  readonly #limiter: IngestLimiter | undefined
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>()
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
  }

  /** Tells peers (soon, once per burst) that we hold new entries of `room`. */
  soon(room: string): void {
    if (this.#timers.has(room) || this.#off === undefined) return
    const t = setTimeout(() => {
      this.#timers.delete(room)
      void this.#announce(room)
    }, ANNOUNCE_DELAY_MS)
    t.unref?.()
    this.#timers.set(room, t)
  }

  async #announce(room: string): Promise<void> {
    const digest = await this.#sync.digestOf(room)
    if (digest === undefined) return
    const frame = encodeFrame({
      type: 'digest',
      sender: this.#net.peerId,
      rooms: [{ room, digest }],
    })
    await this.#net.publish(ROOMS_TOPIC, frame).catch(() => 0)
  }

  /** Asked by the net before delivering or forwarding: a digest within its (peer, sender) budget. */
  #accept(data: Uint8Array, from: PeerIdString): boolean {
    try {
      const f = decodeFrame(data)
      return f.type === 'digest' && this.#limiter?.take(from, f.sender, 'announcement') !== false
    } catch (err) {
      log('malformed room announcement from %s: %e', from, err)
      return false
    }
  }

  #receive(data: Uint8Array, from: PeerIdString): void {
    try {
      const f = decodeFrame(data)
      if (f.type !== 'digest') return
      const source = this.#net.peers().find((p) => p === f.sender) ?? from
      for (const { room, digest } of f.rooms) {
        if (!this.#accepts(room)) continue
        void this.#sync.digestOf(room).then((ours) => {
          if (ours === undefined || !equalBytes(ours, digest)) this.#sync.schedulePull(source, room)
        })
      }
    } catch (err) {
      log('malformed room announcement from %s: %e', from, err)
    }
  }
}
