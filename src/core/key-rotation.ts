/**
 * Keeps encrypted rooms' keys in step with the org's directory (src/core/room-directory.ts):
 * - a member revoked or expired, or one who left the room (a record without a key came in): a
 *   remaining member starts a new epoch wrapped only for the members
 *   still valid (members wait their rank among the remaining keys, a few hundred ms each, and skip
 *   it if another's rotation arrived first; concurrent ones converge, see room-keys.ts);
 * - a new device of our own user: we add it to our rooms, handing it every epoch key we hold
 *   ({@link grantDevice}, which other members may call for any member's new device too); in a dm,
 *   a new device of the other user too.
 */
import { createLogger } from '../net/logger.ts'
import { authorId, equalBytes } from '../crdt/entry.ts'
import { DM_PREFIX, isEncryptedRoom } from '../crdt/e2ee.ts'
import { hex } from './store.ts'
import type { RoomHistory } from './room-history.ts'
import { NotOrgMemberError, type RoomDirectory } from './room-directory.ts'

const log = createLogger('parley:core:keys')

/** How long each remaining member waits per rank before rotating. */
const STAGGER_MS = 400
const DEBOUNCE_MS = 50

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
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>()
  #debounce: ReturnType<typeof setTimeout> | undefined
  #running: Promise<void> = Promise.resolve()
  #stopped = false

  constructor(init: {
    rooms: () => RoomHistory[]
    me: Uint8Array
    directory: RoomDirectory
    /** A key record was written in `room` (announce it). */
    wrote: (room: string) => void
  }) {
    this.#rooms = init.rooms
    this.#me = init.me
    this.#dir = init.directory
    this.#wrote = init.wrote
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
    for (const t of this.#timers.values()) clearTimeout(t)
    this.#timers.clear()
  }

  async #check(): Promise<void> {
    const mine = this.#dir.devicesOf(this.#me).filter((k) => !equalBytes(k, this.#me))
    for (const h of this.#rooms()) {
      if (this.#stopped) return
      if (!isEncryptedRoom(h.room)) continue
      await h.refreshKeys()
      for (const key of this.#devices(h, mine))
        if (await grantDevice(h, this.#me, key, this.#dir).catch(() => false)) this.#wrote(h.room)
      if (h.keys.due()) this.#schedule(h)
    }
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
