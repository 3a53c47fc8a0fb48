/**
 * Gossiped pushes that arrived above a hole in their author's chain, held a moment for the entries
 * below. A peer two hops from an author hears it through several forwarders, and entry n + 1 can
 * overtake entry n; gossipsub hands each message up once, so a push dropped as a gap was gone for
 * good and cost a pull of the room from its forwarder — on 50 peers at 60 msg/s, ~30 pulls a
 * second, over a third of all pulls (docs/reliability.md, "Pushes that overtook each other"). Held, it
 * is taken as soon as the entries below it are; only if they have not come within
 * {@link HOLD_MS} is the room pulled.
 */
import type { PeerIdString } from '../net/index.ts'
import type { PushFrame } from '../crdt/wire.ts'

/** How long a push above a hole waits for the entries below before its room is pulled. */
export const HOLD_MS = 1_000
/**
 * Most pushes, and bytes of entries, held per room and in all: past them a push above a hole is
 * pulled at once, as before holding. A push can carry megabytes and anyone can sign a head of a
 * chain of their own, so it is the bytes that bound what a hostile peer makes us hold.
 */
const MAX_HELD_PER_ROOM = 256
const MAX_HELD = 4_096
const MAX_HELD_BYTES_PER_ROOM = 8 * 1024 * 1024
const MAX_HELD_BYTES = 32 * 1024 * 1024

export interface HeldPush {
  readonly push: PushFrame
  readonly from: PeerIdString
}

interface Entry extends HeldPush {
  readonly bytes: number
  timer: ReturnType<typeof setTimeout> | undefined
}

export class HeldPushes {
  /** Per room, the pushes held, in the order they came, and their bytes. */
  readonly #rooms = new Map<string, { list: Entry[]; bytes: number }>()
  #count = 0
  #bytes = 0
  readonly #expired: (held: HeldPush) => void
  readonly #holdMs: number

  /** `expired`: a push whose hole did not fill within `holdMs` (the caller pulls its room). */
  constructor(expired: (held: HeldPush) => void, holdMs = HOLD_MS) {
    this.#expired = expired
    this.#holdMs = holdMs
  }

  get size(): number {
    return this.#count
  }

  /** Bytes of entries held. */
  get bytes(): number {
    return this.#bytes
  }

  /** Holds `push`; false when full (the caller pulls at once). */
  hold(push: PushFrame, from: PeerIdString): boolean {
    const room = this.#rooms.get(push.room) ?? { list: [], bytes: 0 }
    const bytes = push.entries.reduce((n, e) => n + e.byteLength, 0)
    if (
      this.#count >= MAX_HELD ||
      room.list.length >= MAX_HELD_PER_ROOM ||
      this.#bytes + bytes > MAX_HELD_BYTES ||
      room.bytes + bytes > MAX_HELD_BYTES_PER_ROOM
    )
      return false
    const e: Entry = { push, from, bytes, timer: undefined }
    e.timer = setTimeout(() => {
      if (this.#remove(e)) this.#expired(e)
    }, this.#holdMs)
    e.timer.unref?.()
    room.list.push(e)
    room.bytes += bytes
    this.#rooms.set(push.room, room)
    this.#count += 1
    this.#bytes += bytes
    return true
  }

  /**
   * Takes out, oldest entry first, the held pushes of `room` that `contigOf` (an author's
   * contiguous seq here) now reaches or connects to; pushes it already covers are dropped.
   */
  take(room: string, contigOf: (author: Uint8Array) => number): HeldPush[] {
    const held = this.#rooms.get(room)
    if (held === undefined) return []
    const ready: Entry[] = []
    for (const e of [...held.list]) {
      const contig = contigOf(e.push.head.author)
      const first = e.push.head.seq - e.push.entries.length + 1
      if (e.push.head.seq <= contig) this.#remove(e)
      else if (first <= contig + 1 && this.#remove(e)) ready.push(e)
    }
    return ready.sort((a, b) => a.push.head.seq - b.push.head.seq)
  }

  /** Drops everything held (shutdown). */
  clear(): void {
    for (const { list } of this.#rooms.values()) for (const e of list) clearTimeout(e.timer)
    this.#rooms.clear()
    this.#count = 0
    this.#bytes = 0
  }

  #remove(e: Entry): boolean {
    const room = this.#rooms.get(e.push.room)
    const i = room?.list.indexOf(e) ?? -1
    if (room === undefined || i < 0) return false
    clearTimeout(e.timer)
    room.list.splice(i, 1)
    room.bytes -= e.bytes
    if (room.list.length === 0) this.#rooms.delete(e.push.room)
    this.#count -= 1
    this.#bytes -= e.bytes
    return true
  }
}
