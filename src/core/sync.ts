/**
 * Room sync over a PeerNet: live gossip, catch-up pulls, pushes and anti-entropy.
 *
 * Message flow (see docs/architecture.md):
 *
 *   author ──push(head, entries)──▶ gossip topic ──▶ peers: contiguous? verify forward, store, apply
 *                                                          gap? pull from the forwarder
 *   joiner ──pull(have)──▶ peer ──heads, entries(newest period first)…, end──▶ joiner verifies backwards
 *   any peer ──digest──▶ random peer ──digest-reply──▶ both pull the rooms whose digests differ
 *   `parley send` ──push request──▶ peer ──heads (after ingest)──▶ delivered
 */
import { createLogger } from '../net/logger.ts'
import type { PeerIdString, PeerNet } from '../net/index.ts'
import { roomTopic } from '../net/constants.ts'
import { decodeEntry, entryAuthorOf, verifyHead, type SignedHead } from '../crdt/entry.ts'
import {
  verifyBackward,
  verifyForward,
  type ChainAnchor,
  type VerifiedEntry,
} from '../crdt/chain.ts'
import { ChainGapError } from '../crdt/errors.ts'
import { decodeFrame, encodeFrame, chunkEntries, type Frame, type PushFrame } from '../crdt/wire.ts'
import type { HistoryCrypto } from '../crdt/crypto.ts'
import { hex, type StoredHead } from './store.ts'
import type { RoomHistory, Verified } from './room-history.ts'
import { toVerified, type HeadsBook } from './heads-book.ts'

const log = createLogger('parley:core:sync')

/** Entry bytes per `entries` frame: well under the 3 MiB frame cap. */
const ENTRIES_FRAME_BYTES = 1024 * 1024
const HEADS_PER_FRAME = 10_000

/** Per author during a pull: the next hash we trust, and the signed head it descends from. */
interface Expected {
  anchor: ChainAnchor
  head: SignedHead
}

/** Pulled entries not yet verifiable (a newer entry of their chain has not arrived yet). */
interface PendingEntries {
  byAuthor: Map<string, Map<number, Uint8Array>>
  bytes: number
}

/** Most bytes of early entries one pull buffers before it gives up on the peer. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024

/** What sync needs from the messenger: the rooms this peer holds. */
export interface RoomRegistry {
  get(room: string): RoomHistory | undefined
  /** Opens (joining if policy allows) a room; undefined when this peer does not hold it. */
  open(room: string): Promise<RoomHistory | undefined>
  list(): string[]
}

export interface SyncInit {
  net: PeerNet
  crypto: HistoryCrypto
  rooms: RoomRegistry
  heads: HeadsBook
  /** A pull or a push request brought entries we did not have (gossip ones are already spread). */
  onIngested?: (room: string) => void
}

export class RoomSync {
  readonly #net: PeerNet
  readonly #crypto: HistoryCrypto
  readonly #rooms: RoomRegistry
  readonly #heads: HeadsBook
  /** room → a pull from some peer already running or queued. */
  readonly #pulling = new Map<string, Promise<void>>()
  readonly #again = new Map<string, PeerIdString>()
  readonly #onIngested: (room: string) => void

  constructor(init: SyncInit) {
    this.#net = init.net
    this.#crypto = init.crypto
    this.#rooms = init.rooms
    this.#heads = init.heads
    this.#onIngested = init.onIngested ?? (() => undefined)
  }

  /** Publishes local entries on the room's topic (the newest that fit one frame). */
  async publish(room: string, head: StoredHead, entries: readonly Verified[]): Promise<void> {
    const frame = pushFrame(room, head, entries)
    await this.#net.publish(roomTopic(room), encodeFrame(frame)).catch((err: unknown) => {
      log('publish to %s failed: %e', room, err)
    })
  }

  /** Handles a gossiped frame from `from`. Never throws. */
  async onGossip(data: Uint8Array, from: PeerIdString): Promise<void> {
    let frame: Frame
    try {
      frame = decodeFrame(data)
    } catch (err) {
      log('dropping malformed gossip from %s: %e', from, err)
      return
    }
    if (frame.type !== 'push') {
      log('dropping unexpected %s gossip from %s', frame.type, from)
      return
    }
    const h = this.#rooms.get(frame.room)
    if (h === undefined) return
    try {
      const result = await this.#acceptPush(h, frame)
      if (result === 'gap') this.schedulePull(from, frame.room)
    } catch (err) {
      log.error('rejected push in %s from %s: %e', frame.room, from, err)
    }
  }

  /**
   * Verifies a push against what we hold. 'gap' when it does not connect to our contiguous
   * prefix (the caller pulls instead); throws when it is forged or broken.
   */
  async #acceptPush(h: RoomHistory, f: PushFrame): Promise<'ok' | 'gap'> {
    const state = h.author(f.head.author)
    const contig = state?.contig ?? 0
    if (f.head.seq <= contig) return 'ok'
    const base = await this.#hashAt(h, f.head.author, contig)
    let verified: VerifiedEntry[]
    try {
      verified = await verifyForward(this.#crypto, base, f.entries, f.head)
    } catch (err) {
      if (err instanceof ChainGapError) return 'gap'
      throw err
    }
    await h.ingest(verified.map(toVerified), f.head)
    return 'ok'
  }

  async #hashAt(
    h: RoomHistory,
    author: Uint8Array,
    seq: number,
  ): Promise<{ seq: number; hash: Uint8Array }> {
    if (seq === 0) return { seq, hash: new Uint8Array(32) }
    const state = h.author(author)
    if (state !== undefined && state.head.seq === seq) return { seq, hash: state.head.hash }
    const [e] = await h.entriesOf(author, seq, seq)
    if (e === undefined) throw new Error(`entry ${seq} missing below the contiguous prefix`)
    return { seq, hash: e.hash }
  }

  /**
   * Pulls `room` from `peer` soon. One pull per room at a time; a request that arrives while one
   * runs is remembered and run after it (the peer may have learnt more since).
   */
  schedulePull(peer: PeerIdString, room: string): void {
    if (this.#pulling.has(room)) {
      this.#again.set(room, peer)
      return
    }
    const p = this.pull(peer, room)
      .then(() => undefined)
      .catch((err: unknown) => log('pull of %s from %s failed: %e', room, peer, err))
      .finally(() => {
        this.#pulling.delete(room)
        const next = this.#again.get(room)
        this.#again.delete(room)
        if (next !== undefined) this.schedulePull(next, room)
      })
    this.#pulling.set(room, p)
  }

  /** Waits for scheduled pulls (tests and shutdown). */
  async settled(): Promise<void> {
    while (this.#pulling.size > 0) await Promise.all(this.#pulling.values())
  }

  /**
   * Catches `room` up from `peer`: newest period first, each verified backwards from the
   * peer's signed heads before it is stored. Returns the peer's heads (author hex → seq).
   */
  async pull(peer: PeerIdString, room: string, signal?: AbortSignal): Promise<Map<string, number>> {
    const h = await this.#rooms.open(room)
    if (h === undefined) return new Map()
    const have = (await h.authors()).map((a) => ({ author: a.author, seq: a.contig }))
    const expected = new Map<string, Expected>()
    const theirs = new Map<string, number>()
    const request = encodeFrame({ type: 'pull', room, have })
    let ingested = 0
    const pending: PendingEntries = { byAuthor: new Map(), bytes: 0 }
    const opts = signal === undefined ? {} : { signal }
    for await (const bytes of this.#net.request(peer, request, opts)) {
      const f = decodeFrame(bytes)
      log('pull %s from %s: %s frame', room, peer, f.type)
      if (f.type === 'end') break
      if (f.type === 'error') throw new Error(`peer refused pull: ${f.code}`)
      if (f.type !== 'heads' && f.type !== 'entries')
        throw new Error(`unexpected ${f.type} in a pull`)
      if (f.room !== room) throw new Error('frame for another room')
      if (f.type === 'heads') {
        for (const head of f.heads) {
          const key = hex(head.author)
          theirs.set(key, head.seq)
          const ours = h.author(head.author)
          if (head.seq <= (ours?.contig ?? 0)) continue
          if (await verifyHead(this.#crypto, head)) expected.set(key, { anchor: head, head })
          else log.error('forged head from %s for %s in %s: ignored', peer, key.slice(0, 8), room)
        }
      } else if (f.type === 'entries') {
        ingested += await this.#acceptEntries(h, f.entries, expected, pending, peer)
      }
    }
    if (ingested > 0) this.#onIngested(room)
    this.#heads.record(peer, room, theirs)
    return theirs
  }

  /**
   * Verifies and stores pulled entries. Each author's chain is verified backwards from its signed
   * head, so an entry is accepted once every newer one has been; entries that arrive early (the
   * meta document is sent first, but its entries sit anywhere in a chain) wait in `pending`.
   */
  async #acceptEntries(
    h: RoomHistory,
    entries: readonly Uint8Array[],
    expected: Map<string, Expected>,
    pending: PendingEntries,
    peer: PeerIdString,
  ): Promise<number> {
    let count = 0
    const touched = new Set<string>()
    for (const bytes of entries) {
      const key = hex(entryAuthorOf(bytes))
      if (!expected.has(key)) continue
      let seq: number
      try {
        seq = decodeEntry(bytes).seq
      } catch (err) {
        log.error('malformed entry from %s in %s: %e', peer, h.room, err)
        continue
      }
      let m = pending.byAuthor.get(key)
      if (m === undefined) pending.byAuthor.set(key, (m = new Map()))
      if (!m.has(seq)) {
        pending.bytes += bytes.length
        if (pending.bytes > MAX_PENDING_BYTES)
          throw new Error('peer sent too many out-of-order entries')
        m.set(seq, bytes)
      }
      touched.add(key)
    }
    for (const key of touched) {
      const trust = expected.get(key)
      const m = pending.byAuthor.get(key)
      if (trust === undefined || m === undefined) continue
      const chain: Uint8Array[] = []
      for (let seq = trust.anchor.seq; m.has(seq); seq--) {
        const bytes = m.get(seq)!
        m.delete(seq)
        pending.bytes -= bytes.length
        chain.push(bytes)
      }
      if (chain.length === 0) continue
      try {
        const { verified, nextExpected } = verifyBackward(this.#crypto, trust.anchor, chain)
        expected.set(key, { anchor: nextExpected, head: trust.head })
        await h.ingest(verified.reverse().map(toVerified), trust.head)
        count += verified.length
      } catch (err) {
        log.error('broken chain from %s for %s in %s: %e', peer, key.slice(0, 8), h.room, err)
        expected.delete(key)
        pending.byAuthor.delete(key)
      }
    }
    return count
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
        yield* this.#servePull(f.room, f.have)
        return
      case 'push': {
        const h = await this.#rooms.open(f.room)
        if (h === undefined) {
          yield encodeFrame({ type: 'error', code: 'not-held', message: 'room not held here' })
          return
        }
        const result = await this.#acceptPush(h, f).catch((err: unknown) => {
          log.error('rejected pushed entries in %s from %s: %e', f.room, from, err)
          return 'rejected' as const
        })
        if (result === 'gap') await this.pull(from, f.room).catch(() => undefined)
        else if (result === 'ok') this.#onIngested(f.room)
        const state = h.author(f.head.author)
        yield encodeFrame({
          type: 'heads',
          room: f.room,
          heads: state === undefined ? [] : [{ room: f.room, ...state.head }],
        })
        return
      }
      case 'digest':
        yield encodeFrame({ type: 'digest-reply', rooms: await this.digests() })
        for (const { room, digest } of f.rooms) {
          const ours = await this.digestOf(room)
          if (ours === undefined ? this.#rooms.get(room) === undefined : !equal(ours, digest)) {
            if (ours !== undefined || (await this.#rooms.open(room)) !== undefined)
              this.schedulePull(from, room)
          }
        }
        return
      default:
        yield encodeFrame({ type: 'error', code: 'unexpected', message: `unexpected ${f.type}` })
    }
  }

  async *#servePull(
    room: string,
    haveList: readonly { author: Uint8Array; seq: number }[],
  ): AsyncGenerator<Uint8Array> {
    const h = this.#rooms.get(room)
    if (h === undefined) {
      yield encodeFrame({ type: 'heads', room, heads: [] })
      yield encodeFrame({ type: 'end', room })
      return
    }
    const have = new Map(haveList.map((a) => [hex(a.author), a.seq]))
    const heads: SignedHead[] = []
    const above = new Map<string, number>()
    let minPeriod = Infinity
    for (const a of await h.authors()) {
      const key = hex(a.author)
      const theirs = have.get(key) ?? 0
      if (a.head.seq <= theirs) {
        above.set(key, a.head.seq)
        continue
      }
      const lo = await h.topSegmentStart(a)
      const from = Math.max(theirs, lo - 1)
      above.set(key, from)
      heads.push({ room, ...a.head })
      const lowest = await h.lowestPeriod(a.author, from)
      if (lowest !== undefined) minPeriod = Math.min(minPeriod, lowest)
    }
    for (let i = 0; i < heads.length; i += HEADS_PER_FRAME) {
      yield encodeFrame({ type: 'heads', room, heads: heads.slice(i, i + HEADS_PER_FRAME) })
    }
    if (heads.length === 0) yield encodeFrame({ type: 'heads', room, heads: [] })
    // Newest first; the meta document (META_PERIOD, above every day) comes first: the room's name.
    const periods = (await h.periods()).filter((p) => p >= minPeriod)
    for (const period of periods) {
      const entries = await h.periodEntries(period, above)
      if (entries.length === 0) continue
      // Chunks newest first: the requester verifies each author's chain backwards.
      const chunks = chunkEntries(
        entries.map((e) => e.bytes),
        ENTRIES_FRAME_BYTES,
      )
      for (let i = chunks.length - 1; i >= 0; i--) {
        yield encodeFrame({ type: 'entries', room, period, entries: chunks[i]! })
      }
    }
    yield encodeFrame({ type: 'end', room })
  }

  /** Per room: sha256 over (author, contig, head seq, head hash), sorted by author. */
  async digests(): Promise<{ room: string; digest: Uint8Array }[]> {
    const out: { room: string; digest: Uint8Array }[] = []
    for (const room of this.#rooms.list()) {
      const digest = await this.digestOf(room)
      if (digest !== undefined) out.push({ room, digest })
    }
    return out
  }

  async digestOf(room: string): Promise<Uint8Array | undefined> {
    const h = this.#rooms.get(room)
    if (h === undefined) return undefined
    const authors = (await h.authors()).sort((a, b) => compareBytes(a.author, b.author))
    const parts: number[] = []
    for (const a of authors) {
      parts.push(...a.author, ...u32(a.contig), ...u32(a.head.seq), ...a.head.hash)
    }
    return this.#crypto.sha256(new Uint8Array(parts))
  }

  /** One anti-entropy round with `peer`: exchange digests, pull the rooms that differ. */
  async reconcile(peer: PeerIdString, signal?: AbortSignal): Promise<void> {
    const mine = await this.digests()
    const opts = signal === undefined ? {} : { signal }
    for await (const bytes of this.#net.request(
      peer,
      encodeFrame({ type: 'digest', rooms: mine }),
      opts,
    )) {
      const f = decodeFrame(bytes)
      if (f.type !== 'digest-reply') continue
      const byRoom = new Map(mine.map((d) => [d.room, d.digest]))
      for (const { room, digest } of f.rooms) {
        const ours = byRoom.get(room)
        if (ours === undefined || !equal(ours, digest)) this.schedulePull(peer, room)
      }
    }
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
        for (const hd of f.heads) if (equal(hd.author, head.author)) seq = hd.seq
    }
    this.#heads.record(peer, room, new Map([[hex(head.author), seq]]))
    return seq
  }
}

/** A push frame with the newest entries that fit one frame. */
function pushFrame(room: string, head: StoredHead, entries: readonly Verified[]): PushFrame {
  const picked: Uint8Array[] = []
  let size = 0
  for (let i = entries.length - 1; i >= 0; i--) {
    const b = entries[i]!.stored.bytes
    if (size + b.length > ENTRIES_FRAME_BYTES && picked.length > 0) break
    picked.push(b)
    size += b.length
  }
  return { type: 'push', room, head: { room, ...head }, entries: picked.reverse() }
}

const u32 = (n: number): number[] => [
  (n / 2 ** 24) & 255,
  (n >>> 16) & 255,
  (n >>> 8) & 255,
  n & 255,
]
const equal = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i])
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}
