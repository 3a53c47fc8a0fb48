/**
 * The rooms this user is in (as the sidebar shows them: name, topic, kind, unread count from the
 * local read marker), the public rooms listed in `sys.rooms`, and the room operations: join, leave,
 * create, topic, direct messages. A dm notice naming us in `sys.rooms` joins its room by itself.
 */
import { compareHlc } from '../crdt/hlc.ts'
import type { RoomMeta } from '../crdt/schema.ts'
import {
  ROOMS_ROOM,
  SYSTEM_ROOM_PREFIX,
  encodeRecord,
  resolveRooms,
  type RoomListing,
} from '../crdt/directory.ts'
import type { Messenger } from './messenger.ts'
import type { LocalState } from './local-state.ts'
import { PRIVATE_PREFIX, dmRoomId } from '../crdt/room-ids.ts'

export interface RoomSummary {
  id: string
  name: string
  topic: string
  kind: RoomMeta['kind'] | 'unknown'
  unread: number
  /** For a dm: the other member's author id. */
  peer?: string
  /** For a private room: the members' author ids (every device), once its keys are here. */
  members?: string[]
}

/** A room id from a name: lowercase, dashes, ≤ 64 characters. */
export function slugOf(name: string): string {
  const s = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-._]+|-+$/g, '')
  return s.slice(0, 64)
}

export interface RoomListInit {
  messenger: Messenger
  local: LocalState
  /** Our author id. */
  me: string
  /** Tells the client's listeners that `channel` changed. */
  emit: (channel: string) => void
  /** Our user id and the user of a device (in an org: every device of one user is that user). */
  users?: { me: string; of: (author: string) => string | undefined }
  /** We joined (true) or left a room here: tell our other devices (src/core/account-rooms.ts). */
  onMembership?: (room: string, joined: boolean) => void
}

export class RoomList {
  readonly #messenger: Messenger
  readonly #local: LocalState
  readonly #me: string
  readonly #emit: (channel: string) => void
  readonly #users: RoomListInit['users']
  readonly #onMembership: RoomListInit['onMembership']
  #listings = new Map<string, RoomListing>()
  readonly #summaries = new Map<string, RoomSummary>()
  /** room → number of the latest refresh started. */
  readonly #refreshes = new Map<string, number>()
  /**
   * room → number of the refresh last shown: an older one finishing later is dropped (a newer one
   * that fails or is still reading does not drop an older one's result).
   */
  readonly #shown = new Map<string, number>()

  constructor(init: RoomListInit) {
    this.#messenger = init.messenger
    this.#local = init.local
    this.#me = init.me
    this.#emit = init.emit
    this.#users = init.users
    this.#onMembership = init.onMembership
  }

  /** Whether `author` is us: this device, or another device of our user. */
  #ours(author: string): boolean {
    return (
      author === this.#me ||
      (this.#users !== undefined && this.#users.of(author) === this.#users.me)
    )
  }

  rooms(): RoomSummary[] {
    return this.#local.data.joined
      .map((id) => this.#summaries.get(id))
      .filter((s): s is RoomSummary => s !== undefined)
  }

  browse(): (RoomListing & { joined: boolean })[] {
    const joined = new Set(this.#local.data.joined)
    return [...this.#listings.values()]
      .map((l) => ({ ...l, joined: joined.has(l.id) }))
      .sort((a, b) => a.name.localeCompare(b.name))
  }

  /** Joins `id` here; `tell`: and tells our other devices (not when one of them told us). */
  async join(id: string, tell = true): Promise<void> {
    await this.#messenger.join(id)
    await this.#local.update((d) => {
      if (!d.joined.includes(id)) d.joined.push(id)
      d.left = d.left.filter((r) => r !== id)
    })
    if (tell) this.#onMembership?.(id, true)
    await this.refresh(id)
  }

  async leave(id: string, tell = true): Promise<void> {
    await this.#local.update((d) => {
      d.joined = d.joined.filter((r) => r !== id)
      if (!d.left.includes(id)) d.left.push(id)
    })
    if (tell) this.#onMembership?.(id, false)
    this.#emit('rooms')
  }

  async create(name: string, topic: string): Promise<string> {
    const id = slugOf(name)
    if (id === '' || id.startsWith(SYSTEM_ROOM_PREFIX)) throw new RangeError('Choose another name')
    const title = name.trim()
    await this.#messenger.createRoom(id, { name: title, ...(topic === '' ? {} : { topic }) })
    if (!this.#listings.has(id))
      await this.#messenger.post(ROOMS_ROOM, encodeRecord({ t: 'room', id, name: title, topic }))
    await this.join(id)
    return id
  }

  async setTopic(id: string, topic: string): Promise<void> {
    await this.#messenger.createRoom(id, { topic })
    const meta = await this.#messenger.roomMeta(id)
    if (meta?.kind === 'public')
      await this.#messenger.post(
        ROOMS_ROOM,
        encodeRecord({ t: 'room', id, name: meta.name, topic }),
      )
  }

  /**
   * The dm with the person whose device is `author`. In an org a dm is between users: a dm we
   * hold with them (from any of their devices, a dm of two device keys from before included)
   * stays the conversation, else the room of the two users (EncryptedRooms.startDm), which every
   * device of both joins. Outside an org, the dm of the two device keys.
   */
  async startDm(author: string): Promise<string> {
    const members = [this.#me, author].sort()
    const user = this.#users?.of(author)
    let id: string
    let created: boolean
    const held =
      user === undefined
        ? undefined
        : this.rooms().find(
            (r) => r.kind === 'dm' && r.peer !== undefined && this.#users?.of(r.peer) === user,
          )
    if (held !== undefined) return held.id
    if (this.#messenger.encrypted.directory !== undefined && user !== undefined) {
      ;({ room: id, created } = await this.#messenger.encrypted.startDm(author))
    } else {
      // a dm is end-to-end encrypted (src/crdt/e2ee.ts): only the two members hold its keys
      id = dmRoomId(this.#me, author)
      const h = await this.#messenger.join(id)
      created = (await h.meta()) === undefined
      if (created) await this.#messenger.createRoom(id, { kind: 'dm', members })
    }
    if (created) await this.#messenger.post(ROOMS_ROOM, encodeRecord({ t: 'dm', id, members }))
    await this.join(id)
    return id
  }

  async markRead(room: string): Promise<void> {
    const last = (await this.#messenger.messages(room)).at(-1)
    const cur = this.#local.data.read[room]
    if (last === undefined || (cur !== undefined && compareHlc(last, cur) <= 0)) return
    await this.#local.update((d) => (d.read[room] = { wall: last.wall, count: last.count }))
    await this.refresh(room)
  }

  /** `sys.rooms` changed: new listings, and dms that name us. */
  async onListings(): Promise<void> {
    const { rooms, dms, invited } = resolveRooms(await this.#messenger.messages(ROOMS_ROOM))
    this.#listings = rooms
    const { joined, left } = this.#local.data
    const news = (id: string): boolean => !joined.includes(id) && !left.includes(id)
    for (const dm of dms.values()) {
      const ours = dm.members.some((m) => this.#ours(m))
      if (ours && news(dm.id)) await this.join(dm.id, false)
    }
    // private rooms we were added to (the room's key records decide whether we really are)
    for (const id of invited.get(this.#me) ?? []) if (news(id)) await this.join(id)
    this.#emit('rooms')
  }

  /** Recomputes one room's summary (meta and unread count). */
  async refresh(id: string): Promise<void> {
    const n = (this.#refreshes.get(id) ?? 0) + 1
    this.#refreshes.set(id, n)
    const read = this.#local.data.read[id]
    const priv = id.startsWith(PRIVATE_PREFIX)
    const [meta, msgs, members] = await Promise.all([
      this.#messenger.roomMeta(id),
      this.#messenger.messages(id),
      priv ? this.#messenger.encrypted.members(id) : undefined,
    ])
    if ((this.#shown.get(id) ?? 0) > n) return
    this.#shown.set(id, n)
    let unread = 0
    for (let i = msgs.length - 1; i >= 0; i--) {
      const m = msgs[i]!
      if (read !== undefined && compareHlc(m, read) <= 0) break
      if (!this.#ours(m.author) && !m.deleted) unread++
    }
    const peer =
      meta?.members?.find((a) => !this.#ours(a)) ?? meta?.members?.find((a) => a !== this.#me)
    if (priv && meta === undefined && members !== undefined && !members.includes(this.#me)) {
      // named in a notice of a room whose keys never included us: nothing to show
      if (this.#summaries.delete(id)) this.#emit('rooms')
      return
    }
    this.#summaries.set(id, {
      id,
      name: meta?.name !== undefined && meta.name !== '' ? meta.name : id,
      topic: meta?.topic ?? '',
      kind: meta?.kind ?? (priv ? 'private' : 'unknown'),
      unread,
      ...(meta?.kind === 'dm' && peer !== undefined ? { peer } : {}),
      ...(members === undefined ? {} : { members }),
    })
    this.#emit('rooms')
  }
}
