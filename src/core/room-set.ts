/**
 * The rooms a peer holds, open in memory: each opened once however many ask at the same time and,
 * on an always-on peer, provisional ones — a room a peer named, held only once a pull or push
 * brings verified entries into it. What sync looks rooms up in ({@link RoomRegistry}).
 */
import { isRoomId } from '../crdt/entry.ts'
import { createLogger } from '../net/logger.ts'
import type { RoomHistory } from './room-history.ts'
import type { RoomRegistry } from './sync.ts'

const log = createLogger('parley:core:rooms')

export class InvalidRoomError extends Error {
  static override readonly name = 'InvalidRoomError'
  constructor(room: string) {
    super(`not a room name: ${JSON.stringify(room)} (lowercase letters, digits, . _ -; up to 64)`)
    this.name = 'InvalidRoomError'
  }
}

export interface RoomSetInit {
  /** Always-on peers hold every room they hear of (provisionally, until entries come). */
  retainAll: boolean
  /** Whether the peer runs: provisional rooms are opened and adopted only then. */
  started: () => boolean
  /** A history for `room`, not opened yet. */
  create: (room: string) => RoomHistory
  /** A room is held from now on: follow it (its topic, pulls from the connected peers). */
  adopted: (h: RoomHistory) => void
  /**
   * Rooms' day documents unread and unwritten this long are unloaded (`RoomHistoryInit.idleMs`):
   * every room is swept every half of it. @default never
   */
  idleMs?: number
}

export class RoomSet implements RoomRegistry {
  readonly #init: RoomSetInit
  readonly #rooms = new Map<string, RoomHistory>()
  readonly #opening = new Map<string, Promise<RoomHistory>>()
  readonly #provisional = new Map<string, Promise<RoomHistory>>()
  #sweep: ReturnType<typeof setInterval> | undefined
  #sweeping = false

  constructor(init: RoomSetInit) {
    this.#init = init
    if (init.idleMs !== undefined) {
      this.#sweep = setInterval(() => void this.#unloadIdle(), init.idleMs / 2)
      this.#sweep.unref?.()
    }
  }

  /** One room after another, and never two sweeps at once: the work is spread, not piled up. */
  async #unloadIdle(): Promise<void> {
    if (this.#sweeping) return
    this.#sweeping = true
    try {
      for (const h of this.histories()) {
        await h
          .unloadIdle()
          .catch((err: unknown) => log.error('unloading idle documents of %s: %e', h.room, err))
      }
    } finally {
      this.#sweeping = false
    }
  }

  get(room: string): RoomHistory | undefined {
    return this.#rooms.get(room)
  }

  /** The rooms held, by id. */
  list(): string[] {
    return [...this.#rooms.keys()].sort()
  }

  /** The open histories of the rooms held. */
  histories(): RoomHistory[] {
    return [...this.#rooms.values()]
  }

  accepts(room: string): boolean {
    return this.#rooms.has(room) || (this.#init.retainAll && isRoomId(room) && this.#init.started())
  }

  /**
   * A room we hold, or — on an always-on peer — a provisional one that is adopted only once a
   * pull or push brings verified entries into it ({@link settle}), so that a peer naming rooms
   * it cannot back with signed history makes us hold nothing.
   */
  async open(room: string): Promise<RoomHistory | undefined> {
    const h = this.#rooms.get(room)
    if (h !== undefined) return h
    if (!this.accepts(room)) return undefined
    // being joined: that history, not a second one beside it
    const opening = this.#opening.get(room)
    if (opening !== undefined) return opening.catch(() => undefined)
    let p = this.#provisional.get(room)
    if (p === undefined) {
      const fresh = this.#init.create(room)
      p = fresh.open().then(() => fresh)
      this.#provisional.set(room, p)
      p.catch(() => this.#provisional.delete(room))
    }
    return p
  }

  async settle(h: RoomHistory, ingested: boolean): Promise<void> {
    if (this.#rooms.get(h.room) === h) return
    const p = this.#provisional.get(h.room)
    if (p === undefined || (await p) !== h) return
    // Decided meanwhile: by a join (which adopts it) or by another settle of the same history (a
    // pull and a push at once) — closing it now would close a held room.
    if (this.#provisional.get(h.room) !== p) return
    this.#provisional.delete(h.room)
    if (ingested && this.#init.started() && !this.#rooms.has(h.room)) this.#adopt(h)
    else await h.close()
  }

  /** Starts holding `room`: loads it (once, however many ask) and follows it. */
  join(room: string): Promise<RoomHistory> {
    if (!isRoomId(room)) return Promise.reject(new InvalidRoomError(room))
    const open = this.#rooms.get(room)
    if (open !== undefined) return Promise.resolve(open)
    let p = this.#opening.get(room)
    if (p === undefined) {
      p = this.#openRoom(room)
      this.#opening.set(room, p)
      // Callers see a failure through `p`; the derived promise must not reject unhandled.
      void p.finally(() => this.#opening.delete(room)).catch(() => undefined)
    }
    return p
  }

  async #openRoom(room: string): Promise<RoomHistory> {
    const provisional = this.#provisional.get(room)
    this.#provisional.delete(room)
    const h = (await provisional?.catch(() => undefined)) ?? this.#init.create(room)
    if (provisional === undefined) await h.open()
    else await h.reload()
    this.#adopt(h)
    return h
  }

  #adopt(h: RoomHistory): void {
    this.#rooms.set(h.room, h)
    this.#init.adopted(h)
  }

  /** Closes every room, those still opening (adopted first) and the provisional ones. */
  async close(): Promise<void> {
    clearInterval(this.#sweep)
    await Promise.allSettled(this.#opening.values())
    for (const h of this.#rooms.values()) await h.close()
    this.#rooms.clear()
    for (const p of this.#provisional.values()) await (await p.catch(() => undefined))?.close()
    this.#provisional.clear()
  }
}
