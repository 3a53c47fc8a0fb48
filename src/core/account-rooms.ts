/**
 * One user's rooms across its devices (issue #4 point 6: a linked device shows the same rooms):
 * each device records "joined X" / "left X" as a message in the user's account room — an
 * end-to-end encrypted room of the user alone (`EncryptedRooms.accountRoom`), so every device of
 * the user holds its keys (a new device is handed them like any room's, src/core/key-rotation.ts)
 * and nobody else can read which rooms the user is in. The latest record per room (by clock) is
 * the account's choice; every device follows it (joins or leaves that room here), and tells the
 * others of its own joins and leaves. A room this device is in that no record mentions (rooms
 * joined before the account room existed) is recorded once the account room is readable here.
 */
import { createLogger } from '../net/logger.ts'
import type { Unsubscribe } from '../net/index.ts'
import { compareHlc, type Hlc } from '../crdt/hlc.ts'
import { authorId, compareBytes, isRoomId } from '../crdt/entry.ts'
import { hasKeys } from '../crdt/guards.ts'
import { SYSTEM_ROOM_PREFIX } from '../crdt/directory.ts'
import type { Messenger } from './messenger.ts'
import type { LocalState } from './local-state.ts'

const log = createLogger('parley:core:account')

/** How often the account room is followed again without a change in it. */
const ACCOUNT_RESYNC_MS = 5_000

/** A record of the account room: this user joined (`joined`) or left (`left`) `room`. */
interface MembershipRecord {
  t: 'joined' | 'left'
  room: string
}

function decode(text: string): MembershipRecord | undefined {
  if (text.length > 256) return undefined
  try {
    const v: unknown = JSON.parse(text)
    if (!hasKeys(v, ['t', 'room'])) return undefined
    const { t, room } = v
    const ok = (t === 'joined' || t === 'left') && isRoomId(room)
    return ok && !room.startsWith(SYSTEM_ROOM_PREFIX) ? { t, room } : undefined
  } catch {
    // not a record (nothing else is posted here): ignored
    return undefined
  }
}

export interface AccountRoomsInit {
  messenger: Messenger
  local: LocalState
  /** Joins or leaves a room on this device without telling the others (RoomList). */
  join(room: string): Promise<void>
  leave(room: string): Promise<void>
}

export class AccountRooms {
  readonly #init: AccountRoomsInit
  /** Joins and leaves of this device not yet recorded (room → joined). */
  readonly #pending = new Map<string, boolean>()
  #room: string | undefined
  #running: Promise<void> = Promise.resolve()
  #again = false
  #off: Unsubscribe | undefined
  #stopped = false
  #timer: ReturnType<typeof setInterval> | undefined

  constructor(init: AccountRoomsInit) {
    this.#init = init
  }

  /** The account room's id, once started in an org. */
  get room(): string | undefined {
    return this.#room
  }

  /** Starts following the account room (nothing outside an org). */
  async start(): Promise<void> {
    const { messenger } = this.#init
    if (messenger.encrypted.directory === undefined) return
    this.#room = await messenger.encrypted.accountRoom(this.#mayCreate())
    this.#off = messenger.onRoomChange((room) => room === this.#room && this.#sync())
    while (await messenger.loadOlder(this.#room)) {
      /* every period of the account room counts */
    }
    this.#sync()
    // Followed again now and then, not only on a change of the room: a linked device once stayed
    // out of a room the account had joined ([DEVDM2], cause not found) — what it can read of the
    // account room may grow without a change (its keys came later), and a step that failed is
    // retried so. `#sync` queues at most one step behind the one running, however often asked.
    this.#timer = setInterval(() => this.#sync(), ACCOUNT_RESYNC_MS)
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  stop(): void {
    this.#stopped = true
    clearInterval(this.#timer)
    this.#off?.()
  }

  /** This device joined (true) or left `room`: record it for our other devices. */
  tell(room: string, joined: boolean): void {
    if (room === this.#room || room.startsWith(SYSTEM_ROOM_PREFIX)) return
    this.#pending.set(room, joined)
    this.#sync()
  }

  /** Resolves when the work queued so far is done (tests). */
  async settled(): Promise<void> {
    while (true) {
      const at = this.#running
      await at
      if (at === this.#running) return
    }
  }

  /**
   * Whether this device may found the account room: when it is our user's only device, or the
   * first of them by key (so two devices linked before the room existed do not both found it).
   */
  #mayCreate(): boolean {
    const dir = this.#init.messenger.encrypted.directory!
    const me = this.#init.messenger.identity.signer.publicKey
    const devices = dir.devicesOf(me).sort(compareBytes)
    return devices.length <= 1 || authorId(devices[0]!) === authorId(me)
  }

  #sync(): void {
    if (this.#stopped || this.#room === undefined) return
    if (this.#again) return
    this.#again = true
    this.#running = this.#running
      .then(() => {
        this.#again = false
        return this.#step(this.#room!)
      })
      .catch((err: unknown) => log.error('account rooms: %e', err))
  }

  async #step(room: string): Promise<void> {
    const { messenger, local } = this.#init
    const latest = new Map<string, { joined: boolean; at: Hlc }>()
    for (const m of await messenger.messages(room)) {
      const r = decode(m.text)
      if (r === undefined) continue
      const cur = latest.get(r.room)
      if (cur === undefined || compareHlc(m, cur.at) > 0)
        latest.set(r.room, { joined: r.t === 'joined', at: { wall: m.wall, count: m.count } })
    }
    // follow the account (our own unrecorded joins and leaves are newer)
    for (const [id, { joined }] of latest) {
      if (this.#stopped || this.#pending.has(id)) continue
      const here = local.data.joined.includes(id)
      try {
        if (joined && !here) await this.#init.join(id)
        else if (!joined && here) await this.#init.leave(id)
      } catch (err) {
        // one room that fails to open does not keep the others away (retried on the next change)
        log.error('following the account into %s: %e', id, err)
      }
    }
    const h = await messenger.join(room)
    if ((await h.meta()) === undefined && this.#mayCreate())
      await messenger.encrypted.accountRoom(true)
    const me = authorId(messenger.identity.signer.publicKey)
    if (!h.keys.readable || h.keys.members()?.includes(me) !== true) return // not given it yet
    for (const id of local.data.joined)
      if (!latest.has(id) && !this.#pending.has(id)) this.#pending.set(id, true)
    for (const [id, joined] of [...this.#pending]) {
      if (this.#stopped) return
      if (latest.get(id)?.joined !== joined) {
        const r: MembershipRecord = { t: joined ? 'joined' : 'left', room: id }
        await messenger.post(room, JSON.stringify(r))
      }
      this.#pending.delete(id)
    }
  }
}
