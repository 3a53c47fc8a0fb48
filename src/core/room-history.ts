/**
 * One room's history on this peer: the verified author chains (in the store) and the period
 * documents materialised from them (in memory, a window of the newest, older ones on demand).
 *
 * Every entry reaches a document the same way — stored first, then applied in chain order by
 * {@link RoomHistory.refresh} — whether it was written here, gossiped, pulled or loaded from disk.
 */
import { createLogger } from '../net/logger.ts'
import { PeriodDoc, type DisplayMessage } from '../crdt/period-doc.ts'
import type { Hlc } from '../crdt/hlc.ts'
import {
  hex,
  type AuthorState,
  type HistoryStore,
  type StoredEntry,
  type StoredHead,
} from './store.ts'
import type { Identity } from './identity.ts'
import {
  META_PERIOD,
  decodeEntry,
  encodeEntry,
  periodOf,
  signHead,
  type Entry,
} from '../crdt/entry.ts'
import { withEdit } from '../crdt/display.ts'
import { compareHlc, type HybridClock } from '../crdt/hlc.ts'
import type { ChatMessage, EditRecord, RoomMeta } from '../crdt/schema.ts'
import type { UpdateContext } from '../crdt/validate.ts'

const log = createLogger('parley:core:history')

/** How many messages the in-memory window tries to hold (newest periods first). */
export const WINDOW_MESSAGES = 200
/** How long a changed document waits before its snapshot is written. */
const SNAPSHOT_DELAY_MS = 2_000

/** An entry whose place in its author's chain has been verified, with its stored form. */
export interface Verified {
  entry: Entry
  stored: StoredEntry
}

interface LoadedDoc {
  doc: PeriodDoc
  /** hex(author) → highest seq applied. */
  covers: Map<string, number>
  dirty: boolean
}

export interface RoomHistoryInit {
  room: string
  store: HistoryStore
  identity: Identity
  clock: HybridClock
  /** A document changed (remote or local): the UI should re-read. */
  onChange: () => void
  /** Local entries were stored: publish them. */
  onLocal: (room: string, head: StoredHead, entries: readonly Verified[]) => void
}

/** A change this device makes. */
export type LocalOp =
  | { kind: 'post'; text: string }
  | { kind: 'edit'; id: string; text: string }
  | { kind: 'remove'; id: string }
  | { kind: 'meta'; fields: Partial<RoomMeta> }

interface QueuedWrite {
  op: LocalOp
  resolve: (m: ChatMessage | undefined) => void
  reject: (err: unknown) => void
}

/** Most local writes signed and stored together. */
const MAX_BATCH = 256

function applyLocal(
  doc: PeriodDoc,
  ctx: UpdateContext,
  op: LocalOp,
  hlc: Hlc,
): { update: Uint8Array; message?: ChatMessage } {
  switch (op.kind) {
    case 'post':
      return doc.post(ctx, op.text, hlc)
    case 'edit':
      return doc.edit(ctx, op.id, op.text, hlc)
    case 'remove':
      return doc.remove(ctx, op.id, hlc)
    case 'meta':
      return doc.setMeta(ctx, op.fields, hlc)
  }
}

export class RoomHistory {
  readonly room: string
  readonly #store: HistoryStore
  readonly #identity: Identity
  readonly #onChange: () => void
  readonly #onLocal: RoomHistoryInit['onLocal']
  readonly #clock: HybridClock
  #queue: QueuedWrite[] = []
  #draining = false
  readonly #docs = new Map<number, Promise<LoadedDoc>>()
  /** Periods the UI asked for beyond the window. */
  #oldest = Infinity
  #snapshotTimer: ReturnType<typeof setTimeout> | undefined
  #authors = new Map<string, AuthorState>()
  #closed = false
  #authorsStale = false

  constructor(init: RoomHistoryInit) {
    this.room = init.room
    this.#store = init.store
    this.#identity = init.identity
    this.#onChange = init.onChange
    this.#onLocal = init.onLocal
    this.#clock = init.clock
  }

  /** Loads author states and the newest window of documents. */
  async open(): Promise<void> {
    for (const a of await this.#store.authors(this.room)) this.#authors.set(hex(a.author), a)
    await this.#loadWindow()
  }

  async authors(): Promise<AuthorState[]> {
    if (this.#authorsStale) {
      this.#authorsStale = false
      await this.reloadAuthors()
    }
    return [...this.#authors.values()]
  }

  author(key: Uint8Array): AuthorState | undefined {
    return this.#authors.get(hex(key))
  }

  async reloadAuthors(): Promise<void> {
    this.#authors.clear()
    for (const a of await this.#store.authors(this.room)) this.#authors.set(hex(a.author), a)
  }

  /** The period document for `period`, loaded from its snapshot plus the entries after it. */
  doc(period: number): Promise<LoadedDoc> {
    let p = this.#docs.get(period)
    if (p === undefined) {
      p = this.#load(period)
      this.#docs.set(period, p)
      p.catch(() => this.#docs.delete(period))
    }
    return p
  }

  /** Forgets a document (after a failed write, so it is rebuilt from what is really stored). */
  drop(period: number): void {
    const p = this.#docs.get(period)
    this.#docs.delete(period)
    void p?.then((d) => d.doc.destroy()).catch(() => undefined)
  }

  async #load(period: number): Promise<LoadedDoc> {
    const snap = await this.#store.snapshot(this.room, period)
    let loaded: LoadedDoc | undefined
    if (snap !== undefined) {
      try {
        loaded = {
          doc: PeriodDoc.fromSnapshot(this.room, period, snap.bytes),
          covers: snap.covers,
          dirty: false,
        }
      } catch (err) {
        log.error(
          'snapshot of %s/%d unreadable, rebuilding from entries: %e',
          this.room,
          period,
          err,
        )
      }
    }
    loaded ??= { doc: new PeriodDoc(this.room, period), covers: new Map(), dirty: false }
    loaded.doc.onChange(() => this.#onChange())
    await this.#applyStored(period, loaded)
    return loaded
  }

  /**
   * Stores verified entries (ascending per author) and applies them to the loaded documents.
   * `head` is the signed head they were verified against, when it is newer than what we hold.
   */
  async ingest(entries: readonly Verified[], head?: StoredHead): Promise<void> {
    if (entries.length === 0 && head === undefined) return
    await this.#store.append(
      this.room,
      entries.map((v) => v.stored),
      head,
    )
    this.#advanceAuthors(entries, head)
    for (const v of entries) this.#clock.observe(v.entry.hlc)
    const byPeriod = new Map<number, Verified[]>()
    for (const v of entries) {
      const list = byPeriod.get(v.entry.period)
      if (list === undefined) byPeriod.set(v.entry.period, [v])
      else list.push(v)
    }
    for (const [period, list] of byPeriod) {
      const p = this.#docs.get(period)
      if (p === undefined) {
        if (period === META_PERIOD || period > this.#newestLoaded()) await this.doc(period)
        continue
      }
      const d = await p
      for (const v of list) {
        const result = this.#applyEntry(d, v.entry)
        if (result === 'gap') {
          await this.#applyStored(period, d)
          break
        }
      }
      if (d.dirty) this.#scheduleSnapshot()
    }
  }

  #newestLoaded(): number {
    let max = -Infinity
    for (const p of this.#docs.keys()) if (p !== META_PERIOD && p > max) max = p
    return max
  }

  #advanceAuthors(entries: readonly Verified[], head: StoredHead | undefined): void {
    const touched = new Map<string, Uint8Array>()
    for (const v of entries) touched.set(hex(v.entry.author), v.entry.author)
    if (head !== undefined) touched.set(hex(head.author), head.author)
    for (const [key, author] of touched) {
      const mine = entries.filter((v) => hex(v.entry.author) === key)
      const cur = this.#authors.get(key)
      let contig = cur?.contig ?? 0
      for (const v of mine) if (v.entry.seq === contig + 1) contig = v.entry.seq
      const newHead =
        head !== undefined &&
        hex(head.author) === key &&
        (cur === undefined || head.seq > cur.head.seq)
      const state = {
        author,
        contig,
        head: newHead ? head : cur!.head,
      }
      // Entries above a hole may have made a longer run contiguous: ask the store.
      if (contig < state.head.seq && mine.some((v) => v.entry.seq > contig + 1))
        this.#authorsStale = true
      this.#authors.set(key, state)
    }
  }

  /** Applies to a loaded document every stored entry of its period it does not contain yet. */
  async #applyStored(period: number, d: LoadedDoc): Promise<void> {
    const entries = await this.#store.periodEntries(this.room, period, d.covers)
    let blocked: string | undefined
    for (const e of entries) {
      const key = hex(e.author)
      if (key === blocked) continue
      let entry: Entry
      try {
        entry = decodeEntry(e.bytes)
      } catch (err) {
        log.error('stored entry %s/%d unreadable: %e', this.room, e.seq, err)
        blocked = key
        continue
      }
      if (this.#applyEntry(d, entry) === 'gap') blocked = key
    }
    if (d.dirty) this.#scheduleSnapshot()
  }

  #applyEntry(d: LoadedDoc, entry: Entry): 'applied' | 'gap' | 'duplicate' | 'invalid' {
    const key = hex(entry.author)
    if ((d.covers.get(key) ?? 0) >= entry.seq) return 'duplicate'
    try {
      const ctx = this.#identity.ctxFor(entry.author, entry.seq, this.room, entry.period)
      const result = d.doc.apply(ctx, entry.update)
      if (result !== 'gap') {
        d.covers.set(key, entry.seq)
        d.dirty = true
      }
      return result
    } catch (err) {
      // A signed entry whose update is not valid: its author wrote garbage. Skip it (covers moves
      // past it so the rest of the chain still applies) and say so.
      log.error('invalid update in %s/%d by %s: %e', this.room, entry.seq, key.slice(0, 8), err)
      d.covers.set(key, entry.seq)
      return 'invalid'
    }
  }

  /** Queues a local write; resolves once it is stored (not yet delivered). */
  write(op: LocalOp): Promise<ChatMessage | undefined> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, resolve, reject })
      if (!this.#draining) void this.#drain()
    })
  }

  async #drain(): Promise<void> {
    this.#draining = true
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const batch = this.#queue.splice(0, MAX_BATCH)
        await this.#writeBatch(batch).catch((err: unknown) => {
          for (const w of batch) w.reject(err)
        })
      }
    } finally {
      this.#draining = false
    }
  }

  async #writeBatch(batch: QueuedWrite[]): Promise<void> {
    const me = this.#identity.signer.publicKey
    const cur = this.#authors.get(hex(me))
    let seq = cur?.head.seq ?? 0
    let prev = cur?.head.hash ?? new Uint8Array(32)
    const verified: Verified[] = []
    const results: (ChatMessage | undefined)[] = []
    const touched = new Set<number>()
    try {
      for (const w of batch) {
        const hlc = this.#clock.now()
        const period = w.op.kind === 'meta' ? META_PERIOD : periodOf(hlc.wall)
        const d = await this.doc(period)
        touched.add(period)
        const ctx = this.#identity.ctxFor(me, seq + 1, this.room, period)
        const { update, message } = applyLocal(d.doc, ctx, w.op, hlc)
        seq += 1
        const entry: Entry = { room: this.room, author: me, seq, prev, hlc, period, update }
        const bytes = encodeEntry(entry)
        const hash = this.#identity.crypto.sha256(bytes)
        verified.push({ entry, stored: { author: me, seq, hash, period, bytes } })
        d.covers.set(hex(me), seq)
        d.dirty = true
        prev = hash
        results.push(message)
      }
      const { sig } = await signHead(this.#identity.signer, this.room, seq, prev)
      const head: StoredHead = { author: me, seq, hash: prev, sig }
      await this.#store.append(
        this.room,
        verified.map((v) => v.stored),
        head,
      )
      this.#authors.set(hex(me), { author: me, contig: Math.max(seq, cur?.contig ?? 0), head })
      this.#scheduleSnapshot()
      batch.forEach((w, i) => w.resolve(results[i]))
      this.#onLocal(this.room, head, verified)
    } catch (err) {
      // The documents may hold changes that never reached the store: rebuild them from it.
      for (const period of touched) this.drop(period)
      throw err
    }
  }

  /** Stored entries of one author, ascending. */
  entriesOf(author: Uint8Array, fromSeq: number, toSeq: number): Promise<StoredEntry[]> {
    return this.#store.entries(this.room, author, fromSeq, toSeq)
  }

  lowestPeriod(author: Uint8Array, afterSeq: number): Promise<number | undefined> {
    return this.#store.lowestPeriod(this.room, author, afterSeq)
  }

  periods(): Promise<number[]> {
    return this.#store.periods(this.room)
  }

  periodEntries(period: number, above: Map<string, number>): Promise<StoredEntry[]> {
    return this.#store.periodEntries(this.room, period, above)
  }

  /** Lowest seq of the run of entries that ends at the author's newest verified head. */
  async topSegmentStart(a: AuthorState): Promise<number> {
    if (a.contig >= a.head.seq) return 1
    const above = await this.#store.entries(this.room, a.author, a.contig + 1, a.head.seq)
    let lo = a.head.seq
    for (let i = above.length - 1; i >= 0; i--) {
      if (above[i]!.seq !== lo) break
      lo -= 1
    }
    return lo + 1
  }

  /** The room's name, topic and kind, once someone has written them. */
  async meta(): Promise<RoomMeta | undefined> {
    const d = await this.doc(META_PERIOD)
    return d.doc.meta()
  }

  /** Loads the newest periods until the window holds {@link WINDOW_MESSAGES} messages. */
  async #loadWindow(): Promise<void> {
    let count = 0
    for (const period of await this.#store.periods(this.room)) {
      if (period === META_PERIOD) continue
      const d = await this.doc(period)
      count += d.doc.messages().length
      if (count >= WINDOW_MESSAGES && period <= this.#oldest) break
    }
  }

  /** Loads the next older period that holds messages; false when there is none. */
  async loadOlder(): Promise<boolean> {
    const loaded = [...this.#docs.keys()].filter((p) => p !== META_PERIOD)
    const oldest = loaded.length === 0 ? Infinity : Math.min(...loaded)
    const older = (await this.#store.periods(this.room)).find(
      (p) => p !== META_PERIOD && p < oldest,
    )
    if (older === undefined) return false
    this.#oldest = older
    await this.doc(older)
    this.#onChange()
    return true
  }

  /** Messages of every loaded period, in display order. */
  async messages(): Promise<DisplayMessage[]> {
    const periods = [...this.#docs.keys()].filter((p) => p !== META_PERIOD).sort((a, b) => a - b)
    const docs = await Promise.all(periods.map(async (p) => (await this.doc(p)).doc))
    // An edit lives in the document of the day it was made, which may be later than its message's.
    const edits = new Map<string, EditRecord>()
    for (const d of docs) {
      for (const [id, e] of d.edits()) {
        const had = edits.get(id)
        if (had === undefined || compareHlc(e, had) > 0) edits.set(id, e)
      }
    }
    const out: DisplayMessage[] = []
    for (const d of docs) for (const m of d.messages()) out.push(withEdit(m, edits.get(m.id)))
    return out
  }

  /** Write path for local changes: records that `seq` of our own chain is applied to `period`. */
  markApplied(d: LoadedDoc, author: Uint8Array, seq: number): void {
    d.covers.set(hex(author), seq)
    d.dirty = true
    this.#scheduleSnapshot()
  }

  #scheduleSnapshot(): void {
    if (this.#snapshotTimer !== undefined || this.#closed) return
    this.#snapshotTimer = setTimeout(() => {
      this.#snapshotTimer = undefined
      this.flush().catch((err: unknown) => log.error('snapshot failed: %e', err))
    }, SNAPSHOT_DELAY_MS)
    this.#snapshotTimer.unref?.()
  }

  /** Writes the snapshot of every changed document. */
  async flush(): Promise<void> {
    for (const [period, p] of this.#docs) {
      const d = await p.catch(() => undefined)
      if (d === undefined || !d.dirty) continue
      d.dirty = false
      await this.#store.putSnapshot(this.room, period, {
        bytes: d.doc.encodeSnapshot(),
        covers: new Map(d.covers),
      })
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#snapshotTimer)
    await this.flush()
    for (const p of this.#docs.values()) (await p.catch(() => undefined))?.doc.destroy()
    this.#docs.clear()
  }
}

export type { LoadedDoc, Hlc }
