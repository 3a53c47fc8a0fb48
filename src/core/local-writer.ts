/**
 * This device's own writes to one room: queued, then written in batches — each batch applied to
 * its documents, chained and signed once, stored and published at the same time (docs/web.md,
 * "Sending a message"). Part of a {@link RoomHistory}, which owns the state it works on.
 */
import { META_PERIOD, encodeEntry, periodOf, signHead, type Entry } from '../crdt/entry.ts'
import type { Hlc, HybridClock } from '../crdt/hlc.ts'
import type { ChatMessage } from '../crdt/schema.ts'
import {
  hex,
  type AuthorState,
  type HistoryStore,
  type StoredEntry,
  type StoredHead,
  type Verified,
} from './store.ts'
import type { Identity } from './identity.ts'
import type { LoadedDoc, PeriodCache } from './period-cache.ts'
import { markChanged } from './period-load.ts'
import type { RoomKeys } from './room-keys.ts'
import { BatchSealer } from './batch-sealer.ts'
import { applyLocal, genesisOf, type LocalOp } from './local-ops.ts'

/** Most local writes signed and stored together. */
const MAX_BATCH = 256

/**
 * A room's change notifications, held while a local batch is on its way out: the UI re-reads and
 * re-renders on a change, and that must never run between our write and the network (the other
 * peers see it sooner).
 */
export class ChangeGate {
  readonly #emit: () => void
  #holding = false
  #held = false

  constructor(emit: () => void) {
    this.#emit = emit
  }

  /** A document changed: told now, or when the hold is released. */
  changed(): void {
    if (this.#holding) this.#held = true
    else this.#emit()
  }

  /** Holds changes until the returned function is first called; then tells them, once. */
  hold(): () => void {
    this.#holding = true
    let holding = true
    return () => {
      if (!holding) return
      holding = false
      this.#holding = false
      if (this.#held) {
        this.#held = false
        this.#emit()
      }
    }
  }
}

/** What a {@link LocalWriter} works on: its room's state, owned by the room's history. */
export interface LocalWriterHost {
  room: string
  identity: Identity
  clock: HybridClock
  store: HistoryStore
  docs: PeriodCache
  keys: RoomKeys
  /** hex(author) → chain state; the writer moves our own on. */
  authors: Map<string, AuthorState>
  changes: ChangeGate
  /** Local entries were stored: publish them (resolves once handed to the network). */
  publish: (room: string, head: StoredHead, entries: readonly Verified[]) => Promise<void> | void
  mark: (stage: string, author: Uint8Array, seq: number) => void
}

interface QueuedWrite {
  op: LocalOp
  resolve: (m: ChatMessage | undefined) => void
  reject: (err: unknown) => void
}

export class LocalWriter {
  readonly #h: LocalWriterHost
  #queue: QueuedWrite[] = []
  #draining = false
  #drained: Promise<void> = Promise.resolve()
  #closed = false
  /** Our entries that went out but that the store refused: stored with the next batch. */
  #unsaved: StoredEntry[] = []

  constructor(host: LocalWriterHost) {
    this.#h = host
  }

  /** Resolves once the writes queued so far are written (or failed). */
  get drained(): Promise<void> {
    return this.#drained
  }

  /** Queues a local write; resolves once it is stored (not yet delivered). */
  write(op: LocalOp): Promise<ChatMessage | undefined> {
    if (this.#closed) return Promise.reject(new Error(`room ${this.#h.room} is closed`))
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, resolve, reject })
      if (!this.#draining) this.#drained = this.#drain()
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

  /**
   * Writes a batch into the documents, chains and signs it once, then stores and publishes it at
   * the same time: the store's write is issued first (IndexedDB holds it before any byte leaves),
   * the push goes out while it commits, and the batch resolves once it is stored.
   */
  async #writeBatch(batch: QueuedWrite[]): Promise<void> {
    const { identity, clock } = this.#h
    const me = identity.signer.publicKey
    const cur = this.#h.authors.get(hex(me))
    let seq = cur?.head.seq ?? 0
    let prev = cur?.head.hash ?? new Uint8Array(32)
    this.#h.mark('write', me, seq + 1)
    const verified: Verified[] = []
    const results: (ChatMessage | undefined)[] = []
    const touched = new Set<number>()
    const sealer = new BatchSealer(this.#h.keys, me, (k) => this.#h.authors.get(hex(k))?.head)
    const done = this.#h.docs.beginWrite()
    // Each touched document keeps its Yjs update in memory until the entry is stored (then it is
    // written; dropped if the batch fails before it is published): see PersistedPeriod.deferWrites.
    const held = new Map<number, (write: boolean) => void>()
    const docOf = async (period: number): Promise<LoadedDoc> => {
      const d = await this.#h.docs.forWrite(period)
      touched.add(period)
      if (!held.has(period) && d.persisted !== undefined)
        held.set(period, d.persisted.deferWrites())
      return d
    }
    // Changes are told once the batch is published.
    const unhold = this.#h.changes.hold()
    const append = async (period: number, update: Uint8Array, hlc: Hlc): Promise<void> => {
      seq += 1
      const entry: Entry = { room: this.#h.room, author: me, seq, prev, hlc, period, update }
      const bytes = encodeEntry(entry)
      const hash = identity.crypto.sha256(bytes)
      verified.push({ entry, stored: { author: me, seq, hash, period, bytes } })
      prev = hash
      const d = await docOf(period)
      d.covers.set(hex(me), seq)
      markChanged(d, update.length)
    }
    let head: StoredHead
    try {
      for (const w of batch) {
        const hlc = clock.now()
        if (w.op.kind === 'members') {
          await append(META_PERIOD, sealer.members(w.op), hlc)
          results.push(undefined)
          continue
        }
        sealer.prepare(genesisOf(w.op))
        const period = w.op.kind === 'meta' ? META_PERIOD : periodOf(hlc.wall)
        const d = await docOf(period)
        const ctx = identity.ctxFor(me, seq + 1, this.#h.room, period)
        const { update, message } = applyLocal(d.doc, ctx, w.op, hlc)
        const id = { room: this.#h.room, author: me, seq: seq + 1, period }
        await append(period, sealer.seal(id, update), hlc)
        results.push(message)
      }
      const closing = sealer.closing()
      if (closing !== undefined) await append(META_PERIOD, closing, clock.now())
      // The members changed (no document did): the UI shows them.
      if (closing !== undefined || batch.some((w) => w.op.kind === 'members'))
        this.#h.changes.changed()
      const { sig } = await signHead(identity.signer, this.#h.room, seq, prev)
      head = { author: me, seq, hash: prev, sig }
      this.#h.mark('signed', me, seq)
    } catch (err) {
      // Nothing left this device: the documents may hold changes no entry holds, rebuild them.
      for (const release of held.values()) release(false)
      for (const period of touched) this.#h.docs.drop(period)
      done()
      unhold()
      throw err
    }
    // From here the entries are out: the chain moves on in memory whatever the store says (peers
    // hold them; signing another entry at one of these seqs would fork the chain). Our own entries
    // that an earlier store write refused are stored again with these.
    const mine = [...this.#unsaved, ...verified.map((v) => v.stored)]
    const stored = this.#h.store.append(this.#h.room, mine, head)
    stored.catch(() => undefined)
    this.#h.authors.set(hex(me), { author: me, contig: cur?.contig ?? 0, head })
    const published = Promise.resolve(this.#h.publish(this.#h.room, head, verified))
    void published.then(unhold, unhold)
    try {
      await sealer.commit(verified.map((v) => v.entry))
      await stored
      this.#unsaved = []
      this.#h.mark('stored', me, seq)
      const now = this.#h.authors.get(hex(me))
      this.#h.authors.set(hex(me), {
        author: me,
        contig: Math.max(seq, now?.contig ?? 0),
        head: now !== undefined && now.head.seq > seq ? now.head : head,
      })
      batch.forEach((w, i) => w.resolve(results[i]))
    } catch (err) {
      // The documents keep the changes (they went out; the store takes them with the next batch).
      this.#unsaved = mine
      throw err
    } finally {
      // The held document updates are written once the entries are stored and on their way.
      const release = (): void => held.forEach((write) => write(true))
      void published.then(release, release)
      done()
      await published.catch(() => undefined)
      unhold()
    }
  }

  /** Lets the writes in progress finish; refuses the queued ones and any new one. */
  async close(): Promise<void> {
    this.#closed = true
    await this.#drained
    for (const w of this.#queue.splice(0)) w.reject(new Error(`room ${this.#h.room} is closed`))
  }
}
