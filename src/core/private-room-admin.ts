/**
 * Private rooms as the web app offers them (issue #4 point 5): create one with people of the org,
 * list its members by person, add and remove people, leave. A person is every device key of their
 * user (the org's certificates), so adding or removing someone is one key record for all their
 * devices. Whoever is added is told by a notice in `sys.rooms` (src/crdt/directory.ts) naming only
 * the room id and their author ids, and their browser joins by itself (RoomList.onListings).
 *
 * Who may do what: any member adds people; the room's creator (any device of the creator's user)
 * and the org's admins who are members remove them (an admin who is not a member holds no key:
 * a member adds them first); everyone may leave. Every peer holds the key records to that
 * (src/core/room-key-records.ts): another member's record removing someone does not count.
 */
import { authorFromId } from '../crdt/entry.ts'
import { PRIVATE_PREFIX, mayFound } from '../crdt/room-ids.ts'
import { MAX_NOTICE_MEMBERS, ROOMS_ROOM, encodeRecord } from '../crdt/directory.ts'
import type { Messenger } from './messenger.ts'
import type { OrgClient } from './org-client.ts'

/** One person in a private room. */
export interface RoomMember {
  /** One of their device keys in the room (what the UI keys on). */
  author: string
  /** Their device keys in the room. */
  keys: string[]
  userId: string | undefined
  name: string
  self: boolean
  /** Their device made the room. */
  creator: boolean
  /** They are an admin of the org now (they may remove people). */
  admin: boolean
}

/** The room's members may not be changed by us (not a member, or not its creator nor an admin). */
export class RoomPermissionError extends Error {
  static override readonly name = 'RoomPermissionError'
  constructor(message: string) {
    super(message)
    this.name = 'RoomPermissionError'
  }
}

export interface PrivateRoomAdminInit {
  messenger: Messenger
  org: OrgClient | undefined
  /** Our author id. */
  me: string
  nameOf: (author: string) => string
  /** Shows the room in our list (RoomList.join). */
  join: (room: string) => Promise<void>
}

export const isPrivateRoom = (room: string): boolean => room.startsWith(PRIVATE_PREFIX)

export class PrivateRoomAdmin {
  readonly #init: PrivateRoomAdminInit

  constructor(init: PrivateRoomAdminInit) {
    this.#init = init
  }

  /** Every device key of the person whose device `author` is (just `author` outside an org). */
  devicesOf(author: string): string[] {
    const keys = this.#init.org?.devicesOf(author)
    return keys === undefined || keys.length === 0 ? [author] : keys
  }

  #userKey(author: string): string {
    return this.#init.org?.userOf(author) ?? author
  }

  /** Creates a private room with `people` (one author id per person) and us; resolves its id. */
  async create(name: string, topic: string, people: readonly string[]): Promise<string> {
    const title = name.trim()
    if (title === '') throw new RangeError('Choose a name')
    const mine = this.devicesOf(this.#init.me)
    const others = [...new Set(people.flatMap((p) => this.devicesOf(p)))].filter(
      (k) => !mine.includes(k),
    )
    const room = await this.#init.messenger.encrypted.createPrivateRoom({
      name: title,
      members: [...mine, ...others],
      ...(topic === '' ? {} : { topic }),
    })
    await this.#notify(room, others)
    await this.#init.join(room)
    return room
  }

  /** The members, one entry per person (creator first, then by name); undefined before keys. */
  async members(room: string): Promise<RoomMember[] | undefined> {
    const keys = await this.#init.messenger.encrypted.members(room)
    if (keys === undefined) return undefined
    const people = new Map<string, RoomMember>()
    const mine = new Set(this.devicesOf(this.#init.me)).add(this.#init.me)
    for (const k of keys) {
      const id = this.#userKey(k)
      const creator = mayFound(room, authorFromId(k), [authorFromId(k)])
      const cur = people.get(id)
      if (cur !== undefined) {
        cur.keys.push(k)
        cur.self ||= mine.has(k)
        cur.creator ||= creator
        cur.admin ||= this.#init.org?.isAdmin(k) === true
        continue
      }
      people.set(id, {
        author: k,
        keys: [k],
        userId: this.#init.org?.userOf(k),
        name: this.#init.nameOf(k),
        self: mine.has(k),
        creator,
        admin: this.#init.org?.isAdmin(k) === true,
      })
    }
    return [...people.values()].sort(
      (a, b) => Number(b.creator) - Number(a.creator) || a.name.localeCompare(b.name),
    )
  }

  /**
   * Whether we may remove people: we are a member, and our user made the room or is an org admin
   * (every peer applies the same rule to the record, src/core/room-key-records.ts).
   */
  canRemove(members: readonly RoomMember[]): boolean {
    const me = members.find((m) => m.self)
    return me !== undefined && (me.creator || me.admin)
  }

  /** Adds the person whose device `author` is (all their devices, one record), and tells them. */
  async add(room: string, author: string): Promise<void> {
    const keys = this.devicesOf(author)
    await this.#init.messenger.encrypted.addMember(room, keys)
    await this.#notify(room, keys)
  }

  /** Removes the person whose device `author` is (all their devices): the key rotates. */
  async remove(room: string, author: string): Promise<void> {
    const members = (await this.members(room)) ?? []
    if (!this.canRemove(members))
      throw new RoomPermissionError('Only the room’s creator or an org admin in it removes people')
    const person = members.find((m) => m.keys.includes(author))
    if (person === undefined) return
    if (person.self) throw new RoomPermissionError('Leave the room instead')
    await this.#init.messenger.encrypted.removeMember(room, person.keys)
  }

  /** Leaves the room with all our devices: the next member who writes starts a new key. */
  async leave(room: string): Promise<void> {
    const me = (await this.members(room))?.find((m) => m.self)
    if (me !== undefined) await this.#init.messenger.encrypted.removeMember(room, me.keys)
  }

  async #notify(room: string, keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += MAX_NOTICE_MEMBERS) {
      const members = keys.slice(i, i + MAX_NOTICE_MEMBERS)
      await this.#init.messenger.post(ROOMS_ROOM, encodeRecord({ t: 'private', id: room, members }))
    }
  }
}
