/**
 * The web app's facade over a started {@link Messenger}: the rooms the user is in (with unread
 * counts from local read markers), public rooms to browse, direct messages, the people list with
 * presence, typing, per-message delivery, drafts and the connection. Everything the UI shows comes
 * from here as plain snapshots; every subscription returns an {@link Unsubscribe}.
 */
import { createLogger } from '../net/logger.ts'
import type { PeerConnectionInfo, Unsubscribe } from '../net/index.ts'
import { parseMessageId } from '../crdt/schema.ts'
import { isEncryptedRoom } from '../crdt/room-ids.ts'
import type { DisplayMessage } from '../crdt/display.ts'
import { PEOPLE_ROOM, ROOMS_ROOM, type RoomListing } from '../crdt/directory.ts'
import type { Messenger } from './messenger.ts'
import type { HistoryStore } from './store.ts'
import { RoomList, type RoomSummary } from './room-list.ts'
import { LocalState } from './local-state.ts'
import type { Typing } from './typing.ts'
import { peopleView, type ClaimState, type PersonView } from './people.ts'
import { UserClaim, type Me } from './user-claim.ts'
import { Emitter } from './emitter.ts'
import { Delivery } from './delivery.ts'
import { FileTransfers, type FileTransfersInit } from './file-transfers.ts'
import type { Org } from './org.ts'
import { OrgClient } from './org-client.ts'
import { PrivateRoomAdmin, isPrivateRoom } from './private-room-admin.ts'
import { AccountRooms } from './account-rooms.ts'

export type { PersonView, ClaimState, RoomSummary, Me }
export { slugOf } from './room-list.ts'

const log = createLogger('parley:core:client')

export interface ConnectionView {
  status: 'online' | 'offline'
  peers: (PeerConnectionInfo & { name: string | undefined })[]
}

export interface ClientInit {
  messenger: Messenger
  store: HistoryStore
  account: { userId: string; name: string; author: string }
  /** The stored file as one Blob (the browser's IndexedDB chunk store). */
  fileBlob?: FileTransfersInit['fileBlob']
  /** The organisation this account is a member of: its signed directory is the people list. */
  org?: Org
}

export class ParleyClient {
  readonly messenger: Messenger
  readonly local: LocalState
  readonly typing: Typing
  /** Sharing files: attach, progress, cancel, download (src/core/file-transfers.ts). */
  readonly files: FileTransfers
  /** The org's name, members and admin actions (when the account belongs to one). */
  readonly org: OrgClient | undefined
  /** Private rooms: create with people, members, add, remove (src/core/private-room-admin.ts). */
  readonly privateRooms: PrivateRoomAdmin
  readonly #delivery: Delivery
  readonly #events = new Emitter()
  readonly #off: Unsubscribe[] = []
  /** Our user ID and name, the `sys.people` directory, our claim (user-claim.ts). */
  readonly #user: UserClaim
  readonly #rooms: RoomList
  /** Our rooms across our devices (in an org). */
  readonly #account: AccountRooms
  #stopped = false
  #localLoad: Promise<void> | undefined

  constructor(init: ClientInit) {
    this.messenger = init.messenger
    this.local = new LocalState(init.store)
    this.typing = init.messenger.typing
    this.#delivery = new Delivery(this.messenger, this.local, (room) => this.#events.emit(room))
    this.#user = new UserClaim({
      messenger: this.messenger,
      account: init.account,
      userOf: (author) => this.org?.userOf(author),
      loadDirectory: () => this.#loadAll(PEOPLE_ROOM),
      onMe: () => this.#events.emit('me'),
    })
    this.files = new FileTransfers({
      messenger: this.messenger,
      ...(init.fileBlob === undefined ? {} : { fileBlob: init.fileBlob }),
      onPosted: (room, seq) => void this.#delivery.track(room, seq),
    })
    this.org = init.org && new OrgClient(init.org, init.messenger, init.account.author)
    const org = this.org
    this.#rooms = new RoomList({
      messenger: this.messenger,
      local: this.local,
      me: init.account.author,
      emit: (channel) => this.#events.emit(channel),
      ...(org === undefined
        ? {}
        : { users: { me: init.account.userId, of: (author) => org.userOf(author) } }),
      onMembership: (room, joined) => this.#account.tell(room, joined),
    })
    this.privateRooms = new PrivateRoomAdmin({
      messenger: this.messenger,
      org: this.org,
      me: init.account.author,
      nameOf: (author) => this.nameOf(author),
      join: (room) => this.#rooms.join(room),
    })
    this.#account = new AccountRooms({
      messenger: this.messenger,
      local: this.local,
      join: (room) => this.#rooms.join(room, false),
      leave: (room) => this.#rooms.leave(room, false),
    })
  }

  /** Our rooms across our devices: the account room's id, and its pending work (tests). */
  get account(): AccountRooms {
    return this.#account
  }

  /** Loads local state, joins the user's rooms and starts following changes. */
  async start(): Promise<void> {
    await this.startShown()
    await this.startRest()
  }

  /**
   * The part of {@link start} a page needs before its first paint: local state, the subscriptions,
   * and the summary of the room it shows (which opens that room). {@link startRest} does the rest.
   */
  async startShown(): Promise<void> {
    await this.#loadLocal()
    this.#off.push(
      this.messenger.onRoomChange((room) => void this.#onRoom(room)),
      this.messenger.presence.onChange(() => this.#onPresence()),
      this.messenger.net.onPeers(() => this.#events.emit('connection')),
      this.typing.onChange((room) => this.#events.emit(`typing:${room}`)),
    )
    if (this.org !== undefined)
      this.#off.push(
        this.org.watchAdmission(),
        this.org.onChange(() => this.#events.emit('people')),
      )
    const timer = setInterval(() => this.#events.emit('connection'), 3_000)
    this.#off.push(() => clearInterval(timer))
    const { current, joined } = this.local.data
    if (joined.includes(current)) await this.#rooms.refresh(current)
  }

  /**
   * Opens the room the page will show, when it is a public one, without the rest of
   * {@link startShown}: its IndexedDB reads can then overlap other waits before the first paint
   * (the org's `sys.org` loading). An encrypted room waits for {@link startShown}: its key
   * records are judged against the org's directory, which must be loaded first.
   */
  async openShown(): Promise<void> {
    await this.#loadLocal()
    const { current, joined } = this.local.data
    if (joined.includes(current) && !isEncryptedRoom(current)) await this.messenger.join(current)
  }

  #loadLocal(): Promise<void> {
    this.#localLoad ??= this.local.load()
    return this.#localLoad
  }

  /**
   * The rest of {@link start}, after the page's first paint: the directories, every joined room's
   * summary (unread counts), and delivery tracking of our pending messages.
   */
  async startRest(): Promise<void> {
    for (const room of [PEOPLE_ROOM, ROOMS_ROOM]) await this.messenger.join(room)
    await Promise.all([this.#loadAll(PEOPLE_ROOM), this.#loadAll(ROOMS_ROOM)])
    await Promise.all(this.local.data.joined.map((room) => this.#rooms.refresh(room)))
    for (const room of this.local.data.joined) void this.#delivery.resume(room)
    if (this.org !== undefined) await this.#account.start()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#account.stop()
    this.files.stop()
    for (const off of this.#off.splice(0)) off()
    this.#delivery.stop()
  }

  // --- who we are ---

  get me(): Me {
    return this.#user.me
  }

  /**
   * Checks our user ID against the directory once another peer has been reached (within `waitMs`),
   * and claims it if it is free; `pending` when no peer answered in time (user-claim.ts).
   */
  claim(waitMs = 6_000): Promise<ClaimState> {
    return this.#user.claim(waitMs)
  }

  /** Takes another user ID (after ours was taken) or display name, and claims it. */
  rename(fields: { userId?: string; name?: string }): Promise<ClaimState> {
    return this.#user.rename(fields)
  }

  // --- rooms (see RoomList) ---

  rooms(): RoomSummary[] {
    return this.#rooms.rooms()
  }

  /** Public rooms listed in the directory, with whether we are in them. */
  browse(): (RoomListing & { joined: boolean })[] {
    return this.#rooms.browse()
  }

  joinRoom(id: string): Promise<void> {
    return this.#rooms.join(id)
  }

  /**
   * Hides the room here (this browser still holds its history); a private room is left for good
   * (our devices leave its members: the next member who writes starts a key we never get).
   */
  async leaveRoom(id: string): Promise<void> {
    if (isPrivateRoom(id)) await this.privateRooms.leave(id)
    return this.#rooms.leave(id)
  }

  /** Creates a public room named `name` (or joins it, if its id exists) and lists it. */
  createRoom(name: string, topic = ''): Promise<string> {
    return this.#rooms.create(name, topic)
  }

  setTopic(id: string, topic: string): Promise<void> {
    return this.#rooms.setTopic(id, topic)
  }

  /** Opens (creating if needed) the direct-message room with `author`. */
  startDm(author: string): Promise<string> {
    return this.#rooms.startDm(author)
  }

  // --- messages ---

  messages(room: string): Promise<DisplayMessage[]> {
    const read = this.messenger.messages(room)
    void read.then(this.#firstRead, this.#firstRead)
    return read
  }

  // Declared before `firstRead`, whose initializer sets it (fields initialize in order: the other
  // way round, the executor's write threw and `firstRead` was rejected).
  #firstRead: () => void = () => undefined
  /** Resolves once a first read of a room's messages is done: what a page shows first. */
  readonly firstRead: Promise<void> = new Promise((resolve) => (this.#firstRead = () => resolve()))

  /** Our messages in `room` with a seq up to this are held by another peer. */
  deliveredSeq(room: string): number {
    return this.local.data.delivered[room] ?? 0
  }

  /** 'pending' (only here), 'delivered' (another peer holds it), or undefined (not ours). */
  deliveryOf(m: DisplayMessage): 'pending' | 'delivered' | undefined {
    if (m.author !== this.#user.me.author) return undefined
    const seq = parseMessageId(m.id)?.seq ?? 0
    return seq <= this.deliveredSeq(m.room) ? 'delivered' : 'pending'
  }

  async post(room: string, text: string): Promise<void> {
    const { seq } = await this.messenger.post(room, text)
    this.typing.stopped(room)
    void this.local.saveDraft(room, '')
    void this.#delivery.track(room, seq)
  }

  loadOlder(room: string): Promise<boolean> {
    return this.messenger.loadOlder(room)
  }

  /** Marks every message of `room` up to the newest as read. */
  markRead(room: string): Promise<void> {
    return this.#rooms.markRead(room)
  }

  // --- people, presence, connection ---

  /** The signed org directory with presence (else the `sys.people` directory, outside an org). */
  people(): PersonView[] {
    if (this.org !== undefined) return this.org.directory(this.local.data.lastSeen)
    const presence = this.messenger.people()
    return peopleView(
      this.#user.directory,
      presence,
      this.local.data.lastSeen,
      this.#user.me.author,
    )
  }

  /**
   * The display name of `author`: from the directory, else the name its presence announces (Node
   * peers and `parley send` are in no directory), else a short form of its id.
   */
  nameOf(author: string): string {
    return (
      this.org?.nameOf(author) ??
      this.#user.directory.get(author)?.name ??
      this.messenger.people().find((p) => p.author === author)?.name ??
      `${author.slice(0, 6)}…`
    )
  }

  /** 'away' after idle, 'online' when back. */
  setActivity(status: 'online' | 'away'): void {
    this.messenger.presence.set(status)
    this.#events.emit('people')
  }

  connection(): ConnectionView {
    const names = new Map(this.messenger.people().map((p) => [p.peer, p.name]))
    const peers = this.messenger.connections().map((c) => ({ ...c, name: names.get(c.peer) }))
    return { status: peers.length > 0 ? 'online' : 'offline', peers }
  }

  /** Subscribes to 'rooms', 'people', 'connection', 'me', a room id, or `typing:<room>`. */
  on(channel: string, cb: () => void): Unsubscribe {
    return this.#events.on(channel, cb)
  }

  // --- internals ---

  async #loadAll(room: string): Promise<void> {
    while (await this.messenger.loadOlder(room)) {
      /* every period of a directory room is needed */
    }
    await this.#onRoom(room)
  }

  async #onRoom(room: string): Promise<void> {
    if (this.#stopped) return
    try {
      if (room === PEOPLE_ROOM) {
        if (!(await this.#user.read())) return // a newer read is under way
        this.#events.emit('people')
      } else if (room === ROOMS_ROOM) {
        await this.#rooms.onListings()
      } else if (this.local.data.joined.includes(room)) {
        await this.#rooms.refresh(room)
        for (const m of (await this.messenger.messages(room)).slice(-5))
          this.typing.clear(room, m.author)
      }
      this.#events.emit(room)
    } catch (err) {
      log.error('refresh of %s failed: %e', room, err)
    }
  }

  #onPresence(): void {
    // Remembered at most every 30 s per person: enough for "last seen", few writes.
    const now = Date.now()
    const seen: Record<string, number> = {}
    const known = this.local.data.lastSeen
    for (const p of this.messenger.people())
      if (!p.self && p.status !== 'offline' && now - (known[p.author] ?? 0) > 30_000)
        seen[p.author] = now
    if (Object.keys(seen).length > 0)
      void this.local.update((d) => Object.assign(d.lastSeen, seen)).catch(() => undefined)
    this.#events.emit('people')
    this.#events.emit('connection')
  }
}
