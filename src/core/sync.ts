/**
 * Room sync over a PeerNet: live gossip (taken in by gossip-intake.ts), catch-up pulls, pushes
 * and anti-entropy.
 *
 * Message flow (see docs/architecture.md):
 *
 *   author ──push(head, entries)──▶ gossip topic ──▶ peers: contiguous? verify forward, store, apply
 *                                                          gap? hold it ≤ 1 s for the entries below,
 *                                                               then pull from the forwarder
 *   joiner ──pull(have)──▶ peer ──heads, entries(newest period first)…, end──▶ joiner verifies backwards
 *   any peer ──digest──▶ random peer ──digest-reply──▶ both pull the rooms whose digests differ
 *   `parley send` ──push request──▶ peer ──heads (after ingest)──▶ delivered
 */
import { createLogger } from '../net/logger.ts'
import { raceSignal } from '../net/race-signal.ts'
import type { PeerIdString, PeerNet } from '../net/index.ts'
import { roomTopic } from '../net/constants.ts'
import { equalBytes } from '../crdt/entry.ts'
import { decodeFrame, encodeFrame, type Frame } from '../crdt/wire.ts'
import type { HistoryCrypto } from '../crdt/crypto.ts'
import { hex, type AuthorState, type StoredHead } from './store.ts'
import type { RoomHistory, Verified } from './room-history.ts'
import { PullSession } from './sync-pull.ts'
import { RecentChains } from './recent-chains.ts'
import { PullQueue, type PullRequest } from './pull-queue.ts'
import { GossipIntake } from './gossip-intake.ts'
import { servePull } from './sync-serve.ts'
import { pushFrame, roomDigest } from './sync-frames.ts'
import type { HeadsBook } from './heads-book.ts'
import { entryKey, type StageTrace } from './trace.ts'
import type { IngestLimiter } from './ingest-limit.ts'

const log = createLogger('parley:core:sync')

/** What sync needs from the messenger: the rooms this peer holds. */
export interface RoomRegistry {
  get(room: string): RoomHistory | undefined
  /** Opens (joining if policy allows) a room; undefined when this peer does not hold it. */
  open(room: string): Promise<RoomHistory | undefined>
  /** Whether `open` would give a room (held, or provisional on an always-on peer). */
  accepts(room: string): boolean
  /** After a pull or push into an opened room: adopt a provisional room that got entries, else drop it. */
  settle(h: RoomHistory, ingested: boolean): Promise<void>
  list(): string[]
}

export interface SyncInit {
  net: PeerNet
  crypto: HistoryCrypto
  rooms: RoomRegistry
  heads: HeadsBook
  /**
   * A pull or a push request moved these authors' chains on (gossip ones are already spread; so
   * are those of a pull that only filled a hole below a gossiped push).
   */
  onIngested?: (room: string, authors: readonly Uint8Array[]) => void
  /** Most entries a pull stores in one write. @default Infinity */
  ingestBatch?: number
  /** Told the stages each pushed entry passes here (src/core/trace.ts). @default none */
  trace?: StageTrace
  /** Gossiped pushes over this budget per (peer, author) are dropped unverified. @default none */
  limiter?: IngestLimiter
}

export class RoomSync {
  readonly #net: PeerNet
  readonly #crypto: HistoryCrypto
  readonly #rooms: RoomRegistry
  readonly #heads: HeadsBook
  /** One per scheduled pull running, aborted at {@link stop}. */
  readonly #pullAborts = new Set<AbortController>()
  readonly #pulls = new PullQueue(
    (peer, room, waiting, announce) => {
      const ac = new AbortController()
      this.#pullAborts.add(ac)
      return this.pull(peer, room, ac.signal, waiting, { announce })
        .then(
          () => undefined,
          (err: unknown) => log('pull of %s from %s failed: %e', room, peer, err),
        )
        .finally(() => this.#pullAborts.delete(ac))
    },
    (peer) => this.#net.quietFor(peer),
  )
  readonly #gossip: GossipIntake
  readonly #onIngested: (room: string, authors: readonly Uint8Array[]) => void
  readonly #ingestBatch: number
  readonly #trace: StageTrace | undefined
  /** The chains that moved on here lately, per room (recent-chains.ts): ours join as we publish. */
  readonly recent = new RecentChains()
  /** The digest of a room held with no entries: a peer that sends it has none to pull. */
  readonly #emptyDigest: Uint8Array

  constructor(init: SyncInit) {
    this.#trace = init.trace
    this.#emptyDigest = roomDigest([], init.crypto)
    this.#ingestBatch = init.ingestBatch ?? Infinity
    this.#net = init.net
    this.#crypto = init.crypto
    this.#rooms = init.rooms
    this.#heads = init.heads
    this.#onIngested = init.onIngested ?? (() => undefined)
    this.#gossip = new GossipIntake({
      crypto: init.crypto,
      rooms: init.rooms,
      pull: (peer, room, request) => this.schedulePull(peer, room, request),
      trace: init.trace,
      limiter: init.limiter,
    })
  }

  /**
   * Whether a gossiped frame from `from` is to be taken (GossipIntake.accept: a well-formed push
   * within its pair's budget); the net asks before it delivers or forwards it. Never throws.
   */
  acceptGossip(data: Uint8Array, from: PeerIdString): boolean {
    return this.#gossip.accept(data, from)
  }

  /** Takes a gossiped frame from `from` that {@link acceptGossip} took (gossip-intake.ts). Never throws. */
  onGossip(data: Uint8Array, from: PeerIdString): Promise<void> {
    return this.#gossip.take(data, from)
  }

  /** Publishes local entries on the room's topic (the newest that fit one frame). */
  async publish(room: string, head: StoredHead, entries: readonly Verified[]): Promise<void> {
    const frame = pushFrame(room, head, entries)
    this.recent.moved(room, [head.author])
    await this.#net.publish(roomTopic(room), encodeFrame(frame)).catch((err: unknown) => {
      log('publish to %s failed: %e', room, err)
    })
    this.#trace?.('published', entryKey(room, head.author, head.seq))
  }

  /**
   * Pulls `room` from `peer` soon: one pull per room at a time, the peers asked for meanwhile in
   * turn; a pull gone quiet gives up its turn (src/core/pull-queue.ts). What it brings is announced
   * to every peer (`onIngested`) unless every request for it since it last ran said
   * `announce: false`: a hole below a gossiped push is every receiver's own to fill, and announcing
   * each such pull had all peers pull from each other without end on a loaded network. With
   * `still`, a pull whose turn comes after what it was for arrived is not made.
   */
  schedulePull(peer: PeerIdString, room: string, opts: PullRequest = {}): void {
    this.#pulls.schedule(peer, room, opts)
  }

  /**
   * Waits for scheduled pulls (tests, one-shot commands), or until `signal` aborts: a pull whose
   * peer never answers may run until its connection closes.
   */
  settled(signal?: AbortSignal): Promise<void> {
    const settled = this.#pulls.settled()
    return signal === undefined ? settled : raceSignal(settled, signal).catch(() => undefined)
  }

  /**
   * Aborts the scheduled pulls and waits for them to end (shutdown): a peer that takes a pull and
   * never answers does not hold the stop back.
   */
  async stop(): Promise<void> {
    this.#gossip.stop()
    for (const ac of this.#pullAborts) ac.abort()
    await this.#pulls.settled()
  }

  /**
   * Catches `room` up from `peer`: newest period first, each verified backwards from the
   * peer's signed heads before it is stored. Returns the peer's heads (author hex → seq).
   * `waiting` is told when a frame arrives (false) and when the next is awaited (true); with
   * `announce: false` what it brings is not announced (see {@link schedulePull}).
   */
  async pull(
    peer: PeerIdString,
    room: string,
    signal?: AbortSignal,
    waiting?: (waiting: boolean) => void,
    how: { announce?: boolean } = {},
  ): Promise<Map<string, number>> {
    const h = await this.#rooms.open(room)
    if (h === undefined) return new Map()
    const have = (await h.authors()).map((a) => ({ author: a.author, seq: a.contig }))
    const session = new PullSession(this.#crypto, h, peer, this.#ingestBatch)
    const request = encodeFrame({ type: 'pull', room, have })
    const opts = signal === undefined ? {} : { signal }
    try {
      for await (const bytes of this.#net.request(peer, request, opts)) {
        waiting?.(false)
        const f = decodeFrame(bytes)
        if (f.type === 'end') break
        if (f.type === 'error') throw new Error(`peer refused pull: ${f.code}`)
        if (f.type !== 'heads' && f.type !== 'entries')
          throw new Error(`unexpected ${f.type} in a pull`)
        if (f.room !== room) throw new Error('frame for another room')
        if (f.type === 'heads') await session.onHeads(f.heads)
        else await session.onEntries(f.entries)
        waiting?.(true)
      }
    } finally {
      if (session.ingested > 0 && how.announce !== false)
        this.#onIngested(room, await advanced(h, have))
      await this.#rooms.settle(h, session.ingested > 0)
      if (session.ingested > 0) this.#gossip.pulled(h)
    }
    this.#heads.record(peer, room, session.theirs)
    return session.theirs
  }

  /** Answers a request frame. */
  async *serve(request: Uint8Array, from: PeerIdString): AsyncGenerator<Uint8Array> {
    let f: Frame
    try {
      f = decodeFrame(request)
    } catch (err) {
      log('malformed request from %s: %e', from, err)
      yield encodeFrame({ type: 'error', code: 'malformed', message: 'malformed request' })
      return
    }
    switch (f.type) {
      case 'pull':
        yield* servePull(f.room, this.#rooms.get(f.room), f.have)
        return
      case 'push': {
        const h = await this.#rooms.open(f.room)
        if (h === undefined) {
          yield encodeFrame({ type: 'error', code: 'not-held', message: 'room not held here' })
          return
        }
        const before = h.contigOf(f.head.author)
        const result = await this.#gossip.acceptPush(h, f).catch((err: unknown) => {
          log.error('rejected pushed entries in %s from %s: %e', f.room, from, err)
          return 'rejected' as const
        })
        if (result === 'gap') await this.pull(from, f.room).catch(() => undefined)
        // a push of what we held already (a late subscriber's, a retried delivery) is not news
        else if (result === 'ok' && h.contigOf(f.head.author) > before)
          this.#onIngested(f.room, [f.head.author])
        await this.#rooms.settle(h, result === 'ok')
        const state = h.author(f.head.author)
        yield encodeFrame({
          type: 'heads',
          room: f.room,
          heads: state === undefined ? [] : [{ room: f.room, ...state.head }],
        })
        return
      }
      case 'digest': {
        // one read of every room's authors serves both the reply and the comparison
        const mine = await this.digests()
        yield encodeFrame({ type: 'digest-reply', rooms: mine })
        const byRoom = new Map(mine.map((d) => [d.room, d.digest]))
        for (const { room, digest } of f.rooms)
          if (this.#worthPulling(byRoom.get(room), digest, room)) this.schedulePull(from, room)
        return
      }
      default:
        yield encodeFrame({ type: 'error', code: 'unexpected', message: `unexpected ${f.type}` })
    }
  }

  /** Per room: sha256 over (author, contig, head seq, head hash), sorted by author. */
  async digests(): Promise<{ room: string; digest: Uint8Array }[]> {
    return (await this.#held()).map(({ room, authors }) => ({
      room,
      digest: roomDigest(authors, this.#crypto),
    }))
  }

  /** Whether `room` is held (open) here. */
  holds(room: string): boolean {
    return this.#rooms.get(room) !== undefined
  }

  /** Per author of `room` held here, the seq up to which its chain is contiguous. */
  contigOf(room: string, author: Uint8Array): number {
    return this.#rooms.get(room)?.contigOf(author) ?? 0
  }

  /** Whether some author's chain in `room` reaches less far here than in `have` (or `room` is not held). */
  lacks(room: string, have: readonly { author: Uint8Array; seq: number }[]): boolean {
    return !this.holds(room) || have.some((a) => this.contigOf(room, a.author) < a.seq)
  }

  async digestOf(room: string): Promise<Uint8Array | undefined> {
    const h = this.#rooms.get(room)
    return h === undefined ? undefined : roomDigest(await h.authors(), this.#crypto)
  }

  /** Every room held, with its authors (read once per room). */
  async #held(): Promise<{ room: string; authors: AuthorState[] }[]> {
    const out: { room: string; authors: AuthorState[] }[] = []
    for (const room of this.#rooms.list()) {
      const h = this.#rooms.get(room)
      if (h !== undefined) out.push({ room, authors: await h.authors() })
    }
    return out
  }

  /**
   * One anti-entropy round with `peer`: exchange digests, pull the rooms that differ. A room held
   * empty (joined before any peer was reachable) has nothing to compare: it is pulled at once,
   * not a round trip later (the newest messages of a catch-up show that much sooner). Resolves
   * with how many rooms it scheduled pulls of.
   */
  async reconcile(peer: PeerIdString, signal?: AbortSignal): Promise<number> {
    const held = await this.#held()
    const mine = held.map(({ room, authors }) => ({
      room,
      digest: roomDigest(authors, this.#crypto),
    }))
    const pulled = new Set(held.filter((r) => r.authors.length === 0).map((r) => r.room))
    for (const room of pulled) this.schedulePull(peer, room)
    let scheduled = pulled.size
    const byRoom = new Map(mine.map((d) => [d.room, d.digest]))
    const opts = signal === undefined ? {} : { signal }
    for await (const bytes of this.#net.request(
      peer,
      encodeFrame({ type: 'digest', sender: this.#net.peerId, rooms: mine }),
      opts,
    )) {
      const f = decodeFrame(bytes)
      if (f.type !== 'digest-reply') continue
      for (const { room, digest } of f.rooms) {
        if (pulled.has(room) || !this.#worthPulling(byRoom.get(room), digest, room)) continue
        this.schedulePull(peer, room)
        scheduled++
      }
    }
    return scheduled
  }

  /**
   * Whether a peer's digest of `room` asks for a pull: it differs from ours (or we do not hold the
   * room and would take it), and the peer holds some entries of it. A device that has just joined
   * a room sends the empty digest; pulling from it (as every peer it connected to did) only took
   * turns and CPU on both sides while it was catching up itself.
   */
  #worthPulling(ours: Uint8Array | undefined, theirs: Uint8Array, room: string): boolean {
    if (equalBytes(theirs, this.#emptyDigest)) return false
    return ours !== undefined ? !equalBytes(ours, theirs) : this.#rooms.accepts(room)
  }

  /** Pushes our newest entries of `room` to `peer`; resolves with the peer's head for our chain. */
  async push(
    peer: PeerIdString,
    room: string,
    head: StoredHead,
    entries: readonly Verified[],
    signal?: AbortSignal,
  ): Promise<number> {
    const opts = signal === undefined ? {} : { signal }
    let seq = 0
    for await (const bytes of this.#net.request(
      peer,
      encodeFrame(pushFrame(room, head, entries)),
      opts,
    )) {
      const f = decodeFrame(bytes)
      if (f.type === 'error') throw new Error(`peer refused push: ${f.code}`)
      if (f.type === 'heads')
        for (const hd of f.heads) if (equalBytes(hd.author, head.author)) seq = hd.seq
    }
    this.#heads.record(peer, room, new Map([[hex(head.author), seq]]))
    return seq
  }
}

/** The authors whose contiguous chain in `h` now reaches beyond `before`. */
async function advanced(
  h: RoomHistory,
  before: readonly { author: Uint8Array; seq: number }[],
): Promise<Uint8Array[]> {
  const was = new Map(before.map((a) => [hex(a.author), a.seq]))
  const now = await h.authors()
  return now.filter((a) => a.contig > (was.get(hex(a.author)) ?? 0)).map((a) => a.author)
}
