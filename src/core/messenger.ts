/**
 * The composition root: one facade over history, sync and presence that the UI and the CLI use.
 */
import type { PeerIdString, PeerNet, Unsubscribe, PeerConnectionInfo } from '../net/index.ts'
import { roomTopic } from '../net/constants.ts'
import { createClock, type HybridClock } from '../crdt/hlc.ts'
import type { DeviceSigner, HistoryCrypto } from '../crdt/crypto.ts'
import type { DisplayMessage } from '../crdt/period-doc.ts'
import type { DocPersistence } from '../crdt/doc-persistence.ts'
import type { Attachment, ChatMessage, RoomMeta } from '../crdt/schema.ts'
import type { HistoryStore } from './store.ts'
import { createIdentity, type Identity } from './identity.ts'
import { RoomHistory, type EntryGate } from './room-history.ts'
import { RoomSync } from './sync.ts'
import { RoomSet } from './room-set.ts'
import { RoomAnnouncer } from './room-announce.ts'
import { HeadsBook, toVerified } from './heads-book.ts'
import { PeerSync } from './peer-sync.ts'
import { Presence, type PresenceInfo } from './presence.ts'
import { Typing } from './typing.ts'
import { verifyStored, type VerifyReport } from './verify-stored.ts'
import { FileService, MemoryChunkStore, isFileFrame } from './files/index.ts'
import type { ChunkStore, FileTuning } from './files/index.ts'
import { EncryptedRooms } from './encrypted-rooms.ts'
import type { StageTrace } from './trace.ts'
import type { CutHead } from '../crdt/org-cut.ts'
import { heldHeads } from './revocation-cut.ts'
import { DEFAULT_INGEST_LIMIT, IngestLimiter, type IngestLimit } from './ingest-limit.ts'
import { RoomWriter, type Posted } from './room-writer.ts'

export type { Posted }

export interface MessengerInit {
  net: PeerNet
  store: HistoryStore
  signer: DeviceSigner
  crypto: HistoryCrypto
  /** Display name announced with presence. */
  name: string
  /** Always-on peers hold every room they hear of. @default false */
  retainAll?: boolean
  clock?: HybridClock
  /** Mean interval of anti-entropy rounds. @default 15000 */
  antiEntropyMs?: number
  presence?: { intervalMs?: number; timeoutMs?: number }
  /**
   * Persists period documents as they change (the browser's y-indexeddb, `src/crdt/idb-docs.ts`).
   * @default snapshots in `store`
   */
  docs?: DocPersistence
  /** Which remote entries may be stored (the org's membership check). @default all */
  gate?: EntryGate
  /**
   * Most entries a catch-up stores in one write. Each write is one store transaction; the browser
   * keeps them small so that storing a big catch-up never holds the main thread for long
   * (IndexedDB copies every row on the calling thread). @default unbounded (one write per frame)
   */
  ingestBatch?: number
  /** Where shared files and long texts are kept. @default a {@link MemoryChunkStore} */
  files?: ChunkStore
  /** Tuning of file transfers and chunk size of files added here (tests, bench). */
  fileTuning?: FileTuning
  /** Told the stages each message passes on this peer (src/core/trace.ts). @default none */
  trace?: StageTrace
  /** Budget per (peer, key) of gossip taken in (src/core/ingest-limit.ts). @default {@link DEFAULT_INGEST_LIMIT} */
  ingestLimit?: IngestLimit
  /**
   * A room's day documents nobody read or wrote for this long are unloaded, and a room holding none
   * builds none until it is read (src/core/period-cache.ts): an always-on peer holds every room
   * and shows none. @default never (the browser: its rooms are on screen)
   */
  docsIdleMs?: number
}

export class Messenger {
  readonly net: PeerNet
  readonly identity: Identity
  readonly presence: Presence
  /** Typing indicators; every peer follows the topic, so always-on peers relay them. */
  readonly typing: Typing
  /** Files and long texts: add, fetch, progress, read (src/core/files/service.ts). */
  readonly files: FileService
  /** Private rooms, members of encrypted rooms, their keys (src/core/encrypted-rooms.ts). */
  readonly encrypted: EncryptedRooms
  /** Drops gossip over budget before it is verified (pushes, presence, typing, announcements). */
  readonly ingest: IngestLimiter
  readonly #store: HistoryStore
  readonly #docs: DocPersistence | undefined
  readonly #clock: HybridClock
  readonly #retainAll: boolean
  readonly #rooms: RoomSet
  readonly #heads = new HeadsBook()
  readonly #sync: RoomSync
  /** Reconcile and anti-entropy rounds, pushes until delivered (peer-sync.ts). */
  readonly #peers: PeerSync
  readonly #roomListeners = new Set<(room: string) => void>()
  /** Told the messages other peers post as they are stored (always-on peers keep their files). */
  #onPosted: ((messages: readonly ChatMessage[]) => void) | undefined
  readonly #off: Unsubscribe[] = []
  readonly #announcer: RoomAnnouncer
  readonly #gate: EntryGate | undefined
  readonly #writer: RoomWriter
  readonly #trace: StageTrace | undefined
  readonly #docsIdleMs: number | undefined
  #started = false
  #cutOf: ((room: string, author: Uint8Array) => number | undefined) | undefined

  constructor(init: MessengerInit) {
    this.net = init.net
    this.#store = init.store
    this.#docs = init.docs
    this.identity = createIdentity(init.signer, init.crypto)
    this.#clock = init.clock ?? createClock()
    this.#retainAll = init.retainAll ?? false
    this.#gate = init.gate
    this.#trace = init.trace
    this.#docsIdleMs = init.docsIdleMs
    this.ingest = new IngestLimiter(init.ingestLimit ?? DEFAULT_INGEST_LIMIT)
    this.#rooms = new RoomSet({
      retainAll: this.#retainAll,
      started: () => this.#started,
      create: (room) => this.#newHistory(room),
      adopted: (h) => this.#follow(h),
      ...(this.#docsIdleMs === undefined ? {} : { idleMs: this.#docsIdleMs }),
    })
    this.#sync = new RoomSync({
      limiter: this.ingest,
      net: this.net,
      crypto: init.crypto,
      rooms: this.#rooms,
      heads: this.#heads,
      onIngested: (room, authors) => this.#announcer.soon(room, authors),
      ...(init.ingestBatch === undefined ? {} : { ingestBatch: init.ingestBatch }),
      ...(init.trace === undefined ? {} : { trace: init.trace }),
    })
    this.#peers = new PeerSync({
      net: this.net,
      sync: this.#sync,
      heads: this.#heads,
      join: (room) => this.join(room),
      me: this.identity.signer.publicKey,
      antiEntropyMs: init.antiEntropyMs ?? 15_000,
    })
    this.#announcer = new RoomAnnouncer(
      this.net,
      this.#sync,
      (room) => this.#rooms.accepts(room),
      this.ingest,
    )
    this.typing = new Typing({ net: this.net, identity: this.identity, limiter: this.ingest })
    this.files = new FileService({
      net: this.net,
      store: init.files ?? new MemoryChunkStore(),
      sha256: (data) => init.crypto.sha256(data),
      retain: this.#retainAll,
      ...init.fileTuning,
    })
    this.presence = new Presence({
      net: this.net,
      identity: this.identity,
      name: init.name,
      limiter: this.ingest,
      ...init.presence,
    })
    this.#writer = new RoomWriter({
      me: this.identity.signer.publicKey,
      join: (room) => this.join(room),
      files: this.files,
      wrote: (room) => this.#announcer.soon(room, [this.identity.signer.publicKey]),
    })
    this.encrypted = new EncryptedRooms({
      me: this.identity.signer.publicKey,
      rooms: () => this.#rooms.histories(),
      join: (room) => this.join(room),
      createRoom: (room, fields) => this.createRoom(room, fields),
      wrote: (room) => this.#announcer.soon(room, [this.identity.signer.publicKey]),
      post: (room, text) => this.post(room, text),
    })
  }

  get authorId(): string {
    return this.identity.authorId
  }

  /**
   * Starts following the held rooms: every one opens before this resolves, or with `lazy` none
   * does — each opens when first used (`join`, `messages`…) and all of them with {@link openHeld}.
   * A page opens the room it shows first and the others after its first paint.
   */
  async start(opts: { lazy?: boolean } = {}): Promise<void> {
    if (this.#started) return
    this.#started = true
    if (opts.lazy !== true) await this.openHeld()
    this.#off.push(
      this.net.handle((req, from, { signal }) =>
        isFileFrame(req) ? this.files.serve(req, from, signal) : this.#sync.serve(req, from),
      ),
    )
    if (this.#retainAll) {
      const held = { rooms: this.list(), messages: (room: string) => this.messages(room) }
      const onPosted = (cb: (messages: readonly ChatMessage[]) => void): Unsubscribe => {
        this.#onPosted = cb
        return () => (this.#onPosted = undefined)
      }
      this.#off.push(this.files.keepFilesOf(onPosted, held))
    }
    this.#announcer.start()
    this.#peers.start()
    this.presence.start()
    this.typing.start()
  }

  /**
   * Opens every room held in the store that is not open yet. Their IndexedDB reads overlap; the
   * first failure is thrown once all have settled, as when they opened one after another.
   */
  async openHeld(): Promise<void> {
    const opened = await Promise.allSettled((await this.#store.rooms()).map((r) => this.join(r)))
    const failed = opened.find((r) => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.#peers.stop()
    this.#writer.stop()
    this.#announcer.stop()
    await this.files.stopAll()
    this.typing.stop()
    await this.presence.stop()
    for (const off of this.#off.splice(0)) off()
    this.encrypted.stop()
    await this.#sync.stop()
    await this.#rooms.close()
  }

  /** The open history of a room held here. */
  get(room: string): RoomHistory | undefined {
    return this.#rooms.get(room)
  }

  /** The rooms held here, by id. */
  list(): string[] {
    return this.#rooms.list()
  }

  /** Starts holding `room`: loads it, follows its topic, catches up from connected peers. */
  join(room: string): Promise<RoomHistory> {
    return this.#rooms.join(room)
  }

  #newHistory(room: string): RoomHistory {
    const h: RoomHistory = new RoomHistory({
      room,
      store: this.#store,
      identity: this.identity,
      clock: this.#clock,
      onChange: () => this.#emitRoom(room),
      onLocal: (r, head, entries) => this.#sync.publish(r, head, entries),
      onStored: (r, authors) => this.#sync.recent.moved(r, authors),
      ...(this.#docs === undefined ? {} : { docs: this.#docs }),
      ...(this.#gate === undefined ? {} : { gate: this.#gate }),
      ...(this.#docsIdleMs === undefined ? {} : { idleMs: this.#docsIdleMs }),
      ...(this.#retainAll ? { onPosted: (_r, messages) => this.#onPosted?.(messages) } : {}),
      directory: () => this.encrypted.directory,
      onKeysDue: () => this.encrypted.due(h),
      cutOf: (r, author) => this.#cutOf?.(r, author),
      ...(this.#trace === undefined ? {} : { trace: this.#trace }),
    })
    return h
  }

  /** A room is held from now on: its topic followed, pulled from every connected peer. */
  #follow(h: RoomHistory): void {
    const room = h.room
    this.#off.push(
      this.net.subscribe(roomTopic(room), (msg) => void this.#sync.onGossip(msg.data, msg.from), {
        accept: (msg) => this.#sync.acceptGossip(msg.data, msg.from),
      }),
    )
    for (const p of this.net.peers()) this.#sync.schedulePull(p, room)
    this.#emitRoom(room)
  }

  /**
   * Creates `room` if nobody has, or sets its name and topic; `kind` and `members` apply only when
   * this write creates the room (room-writer.ts).
   */
  createRoom(
    room: string,
    fields: Partial<Pick<RoomMeta, 'name' | 'topic' | 'kind' | 'members'>> = {},
  ): Promise<void> {
    return this.#writer.createRoom(room, fields)
  }

  /**
   * Posts `text` in `room` (created on first use). Resolves once stored on this peer; a long text
   * goes as a file with its preview posted (room-writer.ts).
   */
  post(room: string, text: string): Promise<Posted> {
    return this.#writer.post(room, text)
  }

  /** Posts a message sharing a file added with `files.add`, `text` its caption (room-writer.ts). */
  share(room: string, file: Attachment, text = ''): Promise<Posted> {
    return this.#writer.share(room, file, text)
  }

  /**
   * Resolves with a peer that holds our chain in `room` up to `seq`, pushing to every connected
   * peer (now and as peers connect) until one acknowledges.
   */
  waitDelivered(room: string, seq: number, signal?: AbortSignal): Promise<PeerIdString> {
    return this.#peers.waitDelivered(room, seq, signal)
  }

  /**
   * Pushes the newest entries of `room` by `author` (default: ours) to `peer`; resolves with the seq
   * it acknowledged (0 when we hold none of that author's).
   */
  pushTo(
    peer: PeerIdString,
    room: string,
    signal?: AbortSignal,
    author?: Uint8Array,
  ): Promise<number> {
    return this.#peers.pushTo(peer, room, signal, author)
  }

  /**
   * Where revocation cuts stop each author (src/core/revocation-cut.ts): entries beyond are not
   * applied, and documents holding some are built again ({@link applyCuts}).
   */
  useCuts(cutOf: (room: string, author: Uint8Array) => number | undefined): void {
    this.#cutOf = cutOf
  }

  /** New cuts: every open room drops what lies beyond them from its documents. */
  async applyCuts(): Promise<void> {
    for (const h of this.#rooms.histories()) await h.applyCuts()
  }

  /** The heads of `keys` in every room the store holds (a revocation's cut). */
  heldHeads(keys: readonly Uint8Array[]): Promise<Map<string, CutHead[]>> {
    return heldHeads(this.#store, keys)
  }

  /** Re-verifies every stored entry of `room` from its authors' signed heads (see verify-stored). */
  async verifyHistory(room: string): Promise<VerifyReport> {
    return verifyStored(this.identity.crypto, await this.join(room))
  }

  async messages(room: string): Promise<DisplayMessage[]> {
    return (await this.join(room)).messages()
  }

  async loadOlder(room: string): Promise<boolean> {
    return (await this.join(room)).loadOlder()
  }

  async roomMeta(room: string): Promise<RoomMeta | undefined> {
    return (await this.join(room)).meta()
  }

  /** Called with a room id whenever that room's history or meta changed. */
  onRoomChange(cb: (room: string) => void): Unsubscribe {
    this.#roomListeners.add(cb)
    return () => this.#roomListeners.delete(cb)
  }

  #emitRoom(room: string): void {
    for (const cb of this.#roomListeners) cb(room)
  }

  people(): PresenceInfo[] {
    return this.presence.list()
  }

  connections(): readonly PeerConnectionInfo[] {
    return this.net.connections()
  }

  dial(addr: string, signal?: AbortSignal): Promise<PeerIdString> {
    return this.net.dial(addr, signal === undefined ? {} : { signal })
  }

  /** Reconciles every room with every connected peer and waits for the pulls (peer-sync.ts). */
  syncNow(signal?: AbortSignal): Promise<void> {
    return this.#peers.syncNow(signal)
  }
}

export { toVerified }
