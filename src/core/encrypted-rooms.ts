/**
 * The messenger's encrypted rooms (private rooms and dms; src/crdt/e2ee.ts): creating a private
 * room, its members, and — on a peer of an org — the directory its keys follow, the rotator that
 * keeps them in step with it, and handing our rooms' keys to a new device. The messenger owns the
 * rooms themselves; this holds what the encryption adds on top of them.
 */
import type { Unsubscribe } from '../net/index.ts'
import { authorFromId, authorId } from '../crdt/entry.ts'
import { createLogger } from '../net/logger.ts'
import { PRIVATE_PREFIX, userRoomId } from '../crdt/room-ids.ts'
import { ROOMS_ROOM, encodeRecord } from '../crdt/directory.ts'
import type { RoomMeta } from '../crdt/schema.ts'
import type { RoomHistory } from './room-history.ts'
import { addMember, newPrivateRoom, removeMember, type PrivateRoomInit } from './private-rooms.ts'
import { NotOrgMemberError, type RoomDirectory } from './room-directory.ts'
import { KeyRotator, grantDevice } from './key-rotation.ts'

const log = createLogger('parley:core:keys')

export interface EncryptedRoomsInit {
  /** Our device key. */
  me: Uint8Array
  /** The rooms held now. */
  rooms: () => RoomHistory[]
  /** Holds `room` (Messenger.join). */
  join: (room: string) => Promise<RoomHistory>
  /** Creates a room with these fields (Messenger.createRoom). */
  createRoom: (
    room: string,
    fields: Partial<Pick<RoomMeta, 'name' | 'topic' | 'kind' | 'members'>>,
  ) => Promise<void>
  /** Something was written in `room`: announce it. */
  wrote: (room: string) => void
  /** Posts `text` to `room` (Messenger.post): the notice naming a device added to a private room. */
  post?: (room: string, text: string) => Promise<unknown>
}

export class EncryptedRooms {
  readonly #init: EncryptedRoomsInit
  readonly #off: Unsubscribe[] = []
  #directory: RoomDirectory | undefined
  #rotator: KeyRotator | undefined

  constructor(init: EncryptedRoomsInit) {
    this.#init = init
  }

  /** The org's directory, once {@link useDirectory} gave one. */
  get directory(): RoomDirectory | undefined {
    return this.#directory
  }

  /** Key records that came into `h` left its current epoch with someone no longer a member. */
  due(h: RoomHistory): void {
    this.#rotator?.due(h)
  }

  /**
   * Encrypted rooms take their members from the org's directory from now on (src/core/org-wiring.ts
   * calls this): keys go only to certified devices, rooms rotate when a member is revoked, and a
   * new device of our user gets our rooms' keys.
   */
  useDirectory(directory: RoomDirectory): void {
    this.#rotator?.stop()
    this.#directory = directory
    const rotator = new KeyRotator({
      rooms: this.#init.rooms,
      me: this.#init.me,
      directory,
      wrote: this.#init.wrote,
      granted: (room, key) => this.#tell(room, key),
    })
    this.#rotator = rotator
    this.#off.push(
      directory.onChange(() => rotator.changed()),
      () => rotator.stop(),
    )
    rotator.changed()
  }

  /** Stops following the directory (the messenger stopped). */
  stop(): void {
    for (const off of this.#off.splice(0)) off()
  }

  /**
   * Hands every epoch key of our encrypted rooms to `author`, a new device of a user who is a member
   * (a second device's certificate): resolves with the rooms it was added to. Throws
   * {@link NotOrgMemberError} if it holds no valid certificate (or there is no org).
   */
  async grantDevice(author: string): Promise<string[]> {
    const dir = this.#directory
    if (dir === undefined) throw new NotOrgMemberError('no organisation: no directory of devices')
    const key = authorFromId(author)
    const out: string[] = []
    for (const h of this.#init.rooms())
      if (await grantDevice(h, this.#init.me, key, dir)) out.push(h.room)
    for (const room of out) {
      this.#init.wrote(room)
      this.#tell(room, key)
    }
    return out
  }

  /**
   * Device `key` was added to private room `room` (a member's new device): a notice in `sys.rooms`
   * naming it, so its browser joins the room by itself even when its user's other devices are away
   * (RoomList.onListings; the account room covers only what those devices recorded).
   */
  #tell(room: string, key: Uint8Array): void {
    const post = this.#init.post
    if (post === undefined || !room.startsWith(PRIVATE_PREFIX)) return
    const notice = encodeRecord({ t: 'private', id: room, members: [authorId(key)] })
    post(ROOMS_ROOM, notice).catch((err: unknown) =>
      log.error('notice of %s in %s failed: %e', authorId(key), room, err),
    )
  }

  /**
   * Creates an end-to-end encrypted room with `init.members` (author ids) and us; resolves with its
   * id. Only members hold its keys (src/crdt/e2ee.ts).
   */
  async createPrivateRoom(init: PrivateRoomInit): Promise<string> {
    const { room, members } = newPrivateRoom(this.#init.me, init)
    const topic = init.topic === undefined || init.topic === '' ? {} : { topic: init.topic }
    await this.#init.createRoom(room, { kind: 'private', members, name: init.name, ...topic })
    return room
  }

  /**
   * The dm with the user whose device is `author`: a room of the two users (src/crdt/e2ee.ts,
   * `userRoomId`), so a dm started from any device of either is the same room and every device of
   * both holds its keys. Created here with every device of both users if nobody has. Resolves with
   * its id and whether this call created it. Throws {@link NotOrgMemberError} outside an org or for
   * a key of no member.
   */
  async startDm(author: string): Promise<{ room: string; created: boolean }> {
    const dir = this.#need()
    const theirs = authorFromId(author)
    const users = [dir.userOf(this.#init.me), dir.userOf(theirs)]
    if (users[0] === undefined || users[1] === undefined) throw new NotOrgMemberError()
    const room = userRoomId(users as string[])
    const members = [authorId(this.#init.me), author].sort()
    const devices = this.#devices([this.#init.me, theirs])
    const created = await this.#found(room, { kind: 'dm', members }, devices)
    return { room, created }
  }

  /**
   * Our user's own account room (a room of our user alone: every device of ours is a member, nobody
   * else holds its keys), created here with all our devices if `create` and nobody has; its id.
   */
  async accountRoom(create: boolean): Promise<string> {
    const dir = this.#need()
    const user = dir.userOf(this.#init.me)
    if (user === undefined) throw new NotOrgMemberError()
    const room = userRoomId([user])
    const devices = this.#devices([this.#init.me])
    if (create) await this.#found(room, { kind: 'private', members: devices.map(authorId) }, [])
    else await this.#init.join(room)
    return room
  }

  #need(): RoomDirectory {
    const dir = this.#directory
    if (dir === undefined) throw new NotOrgMemberError('no organisation: no directory of users')
    return dir
  }

  /** Every valid device of the users of `keys` (ours first). */
  #devices(keys: Uint8Array[]): Uint8Array[] {
    const out = new Map<string, Uint8Array>([[authorId(this.#init.me), this.#init.me]])
    for (const k of keys) for (const d of this.#need().devicesOf(k)) out.set(authorId(d), d)
    return [...out.values()]
  }

  /** Creates `room` unless it exists, then hands its keys to `devices` too; whether it created it. */
  async #found(
    room: string,
    fields: { kind: 'dm' | 'private'; members: string[] },
    devices: Uint8Array[],
  ): Promise<boolean> {
    const h = await this.#init.join(room)
    // A room whose key records are here exists even while its name is unreadable to us (our
    // device is not in it yet: a device linked later waits to be added, it does not found it again).
    if ((await h.meta()) !== undefined || (await h.keys.members()) !== undefined) return false
    await this.#init.createRoom(room, fields)
    if (devices.length > fields.members.length) {
      await h.write({ kind: 'members', members: devices, rotate: true })
      this.#init.wrote(room)
    }
    return true
  }

  /** The members of an encrypted room (author ids), once its first key record is here. */
  async members(room: string): Promise<string[] | undefined> {
    return (await this.#init.join(room)).keys.members()
  }

  /**
   * Adds a member (or several, in one record) to an encrypted room: a new key epoch, older keys
   * passed on (history readable).
   */
  async addMember(room: string, author: string | readonly string[]): Promise<void> {
    await addMember(await this.#init.join(room), this.#init.me, author)
    this.#init.wrote(room)
  }

  /**
   * Removes a member (or several, in one record; with our own id: leaves): later entries use a key
   * they never get, and members refuse what they write after it (room-key-records.ts).
   */
  async removeMember(room: string, author: string | readonly string[]): Promise<void> {
    await removeMember(await this.#init.join(room), this.#init.me, author)
    this.#init.wrote(room)
  }
}
