/**
 * Keeps encrypted rooms' keys in step with the org's directory (src/core/room-directory.ts):
 * - a member revoked or expired (also when only time passed: a timer wakes us at the next
 *   certificate expiry), or one who left the room (a record without a key came in): a
 *   remaining member starts a new epoch wrapped only for the members
 *   still valid (members wait their rank among the remaining keys, a few hundred ms each, and skip
 *   it if another's rotation arrived first; concurrent ones converge, see room-keys.ts);
 * - a new device of our own user: we add it to our rooms, handing it every epoch key we hold
 *   ({@link grantDevice}, which other members may call for any member's new device too); in a dm,
 *   a new device of the other user too. In a private room, a new device of another member's user
 *   is added by the other members too, each after its rank's wait (skipped if it is in by then):
 *   the user's own device usually does it at once, and when that one is offline (a phone linked,
 *   the laptop closed) the new device still gets the room's keys and history.
 */
import { createLogger } from '../net/logger.ts'
import { authorId, equalBytes } from '../crdt/entry.ts'
import { DM_PREFIX, PRIVATE_PREFIX, isEncryptedRoom } from '../crdt/room-ids.ts'
import { hex } from './store.ts'
import type { RoomHistory } from './room-history.ts'
import { NotOrgMemberError, type RoomDirectory } from './room-directory.ts'

const log = createLogger('parley:core:keys')

/** How long each remaining member waits per rank before rotating. */
const STAGGER_MS = 400
const DEBOUNCE_MS = 50
/** Longest single wait for the next certificate expiry (setTimeout's limit is ~24.8 days). */
const MAX_EXPIRY_WAIT_MS = 86_400_000

/**
 * Rooms whose keys a device may hand on: every encrypted room (a dm of two device keys only to
 * further devices of its two users, which src/core/room-key-records.ts checks).
 */
const grantable = (h: RoomHistory): boolean => isEncryptedRoom(h.room)

/**
 * Adds device key `key` (a new device of a user who is a member) to `h`: a new epoch wrapped for
 * every member and it, carrying every older epoch key this device holds, so the new device reads
 * the room's whole history. Resolves false when there is nothing to do (not our room, not a
 * member's device, already in). Throws {@link NotOrgMemberError} when `key` holds no valid
 * certificate now.
 */
export async function grantDevice(
  h: RoomHistory,
  me: Uint8Array,
  key: Uint8Array,
  dir: RoomDirectory,
): Promise<boolean> {
  if (!dir.validAt(key, dir.now())) throw new NotOrgMemberError()
  if (!grantable(h)) return false
  const live = h.keys.memberKeys()
  if (live === undefined || !live.some((k) => equalBytes(k, me))) return false
  if (live.some((k) => equalBytes(k, key))) return false
  const user = dir.userOf(key)
  if (user === undefined || !live.some((k) => dir.userOf(k) === user)) return false
  await h.write({ kind: 'members', members: [...live, key], rotate: true })
  log('gave %s (a new device of %s) the keys of %s', authorId(key), user, h.room)
  return true
}

export class KeyRotator {
  readonly #rooms: () => RoomHistory[]
  readonly #me: Uint8Array
  readonly #dir: RoomDirectory
  readonly #wrote: (room: string) => void
  readonly #granted: (room: string, key: Uint8Array) => void
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>()
  /** Pending grants to other members' new devices (`room key-hex` → timer). */
  readonly #grants = new Map<string, ReturnType<typeof setTimeout>>()
  #debounce: ReturnType<typeof setTimeout> | undefined
  /** Wakes us when the next certificate expires (no record arrives then). */
  #expiry: ReturnType<typeof setTimeout> | undefined
  #running: Promise<void> = Promise.resolve()
  #stopped = false

  constructor(init: {
    rooms: () => RoomHistory[]
    me: Uint8Array
    directory: RoomDirectory
    /** A key record was written in `room` (announce it). */
    wrote: (room: string) => void
    /** We added device `key` (a member's new device) to `room` (tell it). */
    granted?: (room: string, key: Uint8Array) => void
  }) {
    this.#rooms = init.rooms
    this.#me = init.me
    this.#dir = init.directory
    this.#wrote = init.wrote
    this.#granted = init.granted ?? (() => undefined)
  }

  /** The directory changed: judge every encrypted room again, soon. */
  changed(): void {
    if (this.#stopped) return
    clearTimeout(this.#debounce)
    this.#debounce = setTimeout(() => {
      this.#running = this.#running
        .then(() => this.#check())
        .catch((err: unknown) => log.error('key check failed: %e', err))
    }, DEBOUNCE_MS)
  }

  /** Judges every encrypted room now (after loading; tests). */
  async checkNow(): Promise<void> {
    await (this.#running = this.#running.then(() => this.#check()))
  }

  stop(): void {
    this.#stopped = true
    clearTimeout(this.#debounce)
    clearTimeout(this.#expiry)
    for (const t of [...this.#timers.values(), ...this.#grants.values()]) clearTimeout(t)
    this.#timers.clear()
    this.#grants.clear()
  }

  async #check(): Promise<void> {
    const mine = this.#dir.devicesOf(this.#me).filter((k) => !equalBytes(k, this.#me))
    for (const h of this.#rooms()) {
      if (this.#stopped) return
      if (!isEncryptedRoom(h.room)) continue
      await h.refreshKeys()
      for (const key of this.#devices(h, mine)) await this.#grant(h, key)
      if (h.room.startsWith(PRIVATE_PREFIX))
        for (const key of this.#othersDevices(h, mine)) this.#scheduleGrant(h, key)
      if (h.keys.due()) this.#schedule(h)
    }
    this.#armExpiry()
  }

  /**
   * A member's certificate that runs out changes no record, so nothing would call
   * {@link changed}: the rooms would keep wrapping keys for it until someone writes. Judge every
   * room again just after the next expiry instead (each check sets the following one).
   */
  #armExpiry(): void {
    clearTimeout(this.#expiry)
    if (this.#stopped) return
    const now = this.#dir.now()
    const next = this.#dir.nextExpiry(now)
    if (next === undefined) return
    const t = setTimeout(() => this.changed(), Math.min(next - now + 1, MAX_EXPIRY_WAIT_MS))
    t.unref?.()
    this.#expiry = t
  }

  /**
   * The devices a member hands `h`'s keys to: our own other devices (`mine`), and in a dm every
   * device of the other user too (either user's devices may bring a new device of either in).
   */
  #devices(h: RoomHistory, mine: Uint8Array[]): Uint8Array[] {
    if (!h.room.startsWith(DM_PREFIX)) return mine
    const out = new Map(mine.map((k) => [hex(k), k]))
    for (const m of h.keys.memberKeys() ?? [])
      for (const k of this.#dir.devicesOf(m)) if (!equalBytes(k, this.#me)) out.set(hex(k), k)
    return [...out.values()]
  }

  async #grant(h: RoomHistory, key: Uint8Array): Promise<void> {
    if (!(await grantDevice(h, this.#me, key, this.#dir).catch(() => false))) return
    this.#wrote(h.room)
    this.#granted(h.room, key)
  }

  /** Valid devices of the users of `h`'s members (others than ours) that are not members yet. */
  #othersDevices(h: RoomHistory, mine: Uint8Array[]): Uint8Array[] {
    const live = h.keys.memberKeys() ?? []
    if (!live.some((k) => equalBytes(k, this.#me))) return []
    const skip = new Set([...live, ...mine, this.#me].map(hex))
    const out = new Map<string, Uint8Array>()
    for (const m of live)
      for (const k of this.#dir.devicesOf(m)) if (!skip.has(hex(k))) out.set(hex(k), k)
    return [...out.values()]
  }

  /** Adds another member's new device `key` to `h` after our rank's wait, unless it is in by then. */
  #scheduleGrant(h: RoomHistory, key: Uint8Array): void {
    const id = `${h.room} ${hex(key)}`
    if (this.#grants.has(id)) return
    const live = (h.keys.memberKeys() ?? []).map(hex).sort()
    const rank = Math.max(0, live.indexOf(hex(this.#me)))
    const t = setTimeout(
      () => {
        this.#grants.delete(id)
        if (this.#stopped) return
        this.#running = this.#running
          .then(() => this.#grant(h, key))
          .catch((err: unknown) => log.error('granting in %s failed: %e', h.room, err))
      },
      (rank + 1) * STAGGER_MS,
    )
    t.unref?.()
    this.#grants.set(id, t)
  }

  /** Key records that came into `h` left its current epoch with someone no longer a member. */
  due(h: RoomHistory): void {
    if (!this.#stopped) this.#schedule(h)
  }

  /** Rotates `h` after our rank's wait, unless someone else's rotation arrived first. */
  #schedule(h: RoomHistory): void {
    if (this.#timers.has(h.room)) return
    const live = (h.keys.memberKeys() ?? []).map(hex).sort()
    const rank = Math.max(0, live.indexOf(hex(this.#me)))
    const t = setTimeout(() => {
      this.#timers.delete(h.room)
      if (this.#stopped || !h.keys.due()) return
      const members = h.keys.memberKeys()!
      h.write({ kind: 'members', members, rotate: true }).then(
        () => {
          log('rotated %s: a member left or is no longer in the org', h.room)
          this.#wrote(h.room)
        },
        (err: unknown) => log.error('rotating %s failed: %e', h.room, err),
      )
    }, rank * STAGGER_MS)
    t.unref?.()
    this.#timers.set(h.room, t)
  }
}
