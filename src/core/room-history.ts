/**
 * One room's history on this peer: the verified author chains (in the store; what it holds of each
 * in memory: author-states.ts), the period documents materialised from them ({@link PeriodCache}),
 * and this device's own writes.
 *
 * Every entry reaches a document the same way — stored first, then applied in chain order —
 * whether it was written here, gossiped, pulled or loaded from disk.
 */
import type { DisplayMessage } from '../crdt/period-doc.ts'
import { META_PERIOD, authorId, equalBytes, type Entry } from '../crdt/entry.ts'
import type { ChatMessage, RoomMeta } from '../crdt/schema.ts'
import {
  hex,
  type AuthorState,
  type HistoryStore,
  type StoredEntry,
  type StoredHead,
  type Verified,
} from './store.ts'
import { PeriodCache } from './period-cache.ts'
import { RoomKeys } from './room-keys.ts'
import { updateKind } from '../crdt/e2ee.ts'
import { postedBy } from '../crdt/posted.ts'
import type { LocalOp } from './local-ops.ts'
import { ChangeGate, LocalWriter } from './local-writer.ts'
import { AuthorStates } from './author-states.ts'
import { entryKey } from './trace.ts'
import { BeyondRevocationCutError } from './revocation-cut.ts'
import { RemovalCuts, periodsBeyondCuts } from './history-cuts.ts'
import type { EntryGate, RoomHistoryInit } from './room-history-init.ts'

export type { LocalOp }

export type { Verified }
export type { EntryGate, RoomHistoryInit }

export class RoomHistory {
  readonly room: string
  readonly #init: RoomHistoryInit
  readonly #store: HistoryStore
  readonly #docs: PeriodCache
  readonly #keys: RoomKeys
  readonly #writer: LocalWriter
  readonly #changes: ChangeGate
  readonly #authors: AuthorStates
  #closed = false
  readonly #removals: RemovalCuts

  constructor(init: RoomHistoryInit) {
    this.room = init.room
    this.#init = init
    this.#store = init.store
    this.#authors = new AuthorStates(init.room, init.store, init.identity.signer.publicKey)
    this.#keys = new RoomKeys(init.room, init.identity.signer, init.directory)
    this.#removals = new RemovalCuts(init.room, init.store, this.#keys)
    this.#changes = new ChangeGate(init.onChange)
    this.#docs = new PeriodCache({
      ...init,
      open: (entry) => this.#open(entry),
      onChange: () => this.#changes.changed(),
    })
    this.#writer = new LocalWriter({
      ...init,
      docs: this.#docs,
      keys: this.#keys,
      authors: this.#authors.map,
      changes: this.#changes,
      publish: init.onLocal,
      mark: (stage, author, seq) => this.#mark(stage, author, seq),
    })
  }

  /** The room's keys (encrypted rooms; see room-keys.ts). */
  get keys(): RoomKeys {
    return this.#keys
  }

  /** An entry's document update (decrypted), `'skip'` or `'locked'`; throws past a revocation cut. */
  #open(entry: Entry): Uint8Array | 'skip' | 'locked' {
    const cut = this.#init.cutOf?.(this.room, entry.author)
    if (cut !== undefined && entry.seq > cut)
      throw new BeyondRevocationCutError(authorId(entry.author), this.room, entry.seq, cut, false)
    return this.#keys.open(entry)
  }

  /** Tells `onPosted` the messages stored entries post. */
  #tellPosted(entries: readonly Verified[]): void {
    if (this.#init.onPosted === undefined) return
    const posted = postedBy(
      entries.map((v) => v.entry),
      (entry) => this.#open(entry),
    )
    if (posted.length > 0) this.#init.onPosted(this.room, posted)
  }

  #mark(stage: string, author: Uint8Array, seq: number): void {
    this.#init.trace?.(stage, entryKey(this.room, author, seq))
  }

  /** Loads author states, key records and the newest window of documents. */
  async open(): Promise<void> {
    await this.#authors.reload()
    // The clock's reads and the documents' overlap (each is a wait for IndexedDB).
    await Promise.all([
      this.#authors.observeNewest(this.#init.clock),
      (async () => {
        await this.#keys.load(this.#store)
        // A peer that holds no key of an encrypted room keeps its entries but builds no documents.
        if (this.#keys.readable) await this.#docs.loadWindow()
      })(),
    ])
    await this.applyCuts()
  }

  /**
   * Revocation cuts arrived (or the room opened): documents that contain entries beyond a cut —
   * applied before the cut reached this peer — are built again from the stored entries without
   * them. The entries stay stored (and refused by every peer they are served to).
   */
  async applyCuts(): Promise<void> {
    const cutOf = this.#init.cutOf
    if (cutOf === undefined || !this.#keys.readable) return
    await this.#writer.drained
    const periods = await periodsBeyondCuts(this.#store, this.room, await this.authors(), cutOf)
    if (periods.size > 0 && !this.#closed) await this.#docs.rebuild(periods)
  }

  /**
   * Key records came in: documents holding entries beyond a removal's cut (applied before the
   * record that removed their author reached this peer) are built again without them.
   */
  async #applyRemovals(): Promise<void> {
    const periods = await this.#removals.periods((key) => this.#authors.get(key)?.head.seq ?? 0)
    if (periods.size === 0 || this.#closed) return
    await this.#writer.drained
    await this.#docs.rebuild(periods)
  }

  /** The org's directory changed: key records are judged again, entries they unlock applied. */
  async refreshKeys(): Promise<void> {
    const wasReadable = this.#keys.readable
    if (!(await this.#keys.refresh()) || this.#closed) return
    if (!wasReadable) await this.#docs.loadWindow()
    else await this.#docs.unlock()
    this.#init.onChange()
  }

  /** Re-reads author states from the store (another instance may have written to it). */
  async reload(): Promise<void> {
    await this.#authors.reload()
    await this.#keys.load(this.#store)
    if (this.#keys.readable) await this.#docs.loadWindow()
  }

  /** What this peer holds of each author's chain (author-states.ts). */
  authors(): Promise<AuthorState[]> {
    return this.#authors.list()
  }

  author(key: Uint8Array): AuthorState | undefined {
    return this.#authors.get(key)
  }

  /** How far this peer holds `author`'s chain without a hole (0: nothing of it). */
  contigOf(author: Uint8Array): number {
    return this.#authors.get(author)?.contig ?? 0
  }

  /**
   * Stores verified entries (ascending per author) and applies them to the loaded documents.
   * `head` is the signed head they were verified against, when it is newer than what we hold.
   */
  async ingest(entries: readonly Verified[], head?: StoredHead): Promise<void> {
    if (this.#init.gate !== undefined && entries.length > 0)
      ({ entries, head } = await this.#init.gate(this.room, entries, head))
    if (entries.length === 0 && head === undefined) return
    const last = entries.at(-1)?.entry
    const storing = this.#store.append(
      this.room,
      entries.map((v) => v.stored),
      head,
    )
    storing.catch(() => undefined)
    // The loaded documents take the entries while they are stored (the UI shows them sooner); the
    // author states — what heads, digests and delivery acknowledgements claim — only once stored.
    const ahead = await this.#applyAhead(entries)
    if (ahead.length > 0 && last !== undefined) this.#mark('applied', last.author, last.seq)
    try {
      await storing
    } catch (err) {
      for (const release of ahead) release(false)
      throw err
    }
    for (const release of ahead) release(true)
    if (last !== undefined) this.#mark('stored', last.author, last.seq)
    this.#authors.advance(entries, head)
    for (const v of entries) this.#init.clock.observe(v.entry.hlc)
    if (this.#init.onStored !== undefined && entries.length > 0)
      this.#init.onStored(this.room, authorsOf(entries))
    const wasReadable = this.#keys.readable
    const learned = await this.#keys.add(entries.map((v) => v.entry))
    if (this.#init.onKeysDue !== undefined && this.#keys.encrypted && this.#keys.due())
      this.#init.onKeysDue()
    // the members may have changed (key records change no document): the UI shows them
    if (this.#keys.encrypted && entries.some((v) => updateKind(v.entry.update) === 'keys'))
      this.#init.onChange()
    // A peer without a key of an encrypted room stores its entries and builds no documents.
    if (!this.#keys.readable) return
    this.#tellPosted(entries)
    if (!wasReadable) await this.#docs.loadWindow()
    const byPeriod = byPeriodOf(entries)
    // Newest period first, as a pull sends them: the loaded days stay the newest ones, with no
    // day left out between them (`loadOlder` loads only days older than every loaded one).
    for (const period of [...byPeriod.keys()].sort((a, b) => b - a))
      await this.#docs.apply(period, byPeriod.get(period)!)
    if (learned) await this.#docs.unlock()
    if (
      entries.some((v) => v.entry.period === META_PERIOD && updateKind(v.entry.update) === 'keys')
    )
      await this.#applyRemovals()
    if (last !== undefined && ahead.length === 0) this.#mark('applied', last.author, last.seq)
  }

  /** Applies readable document entries to their loaded documents ahead of their store write. */
  async #applyAhead(entries: readonly Verified[]): Promise<((stored: boolean) => void)[]> {
    if (!this.#keys.readable || entries.some((v) => v.entry.period === META_PERIOD)) return []
    const byPeriod = byPeriodOf(entries)
    const out: ((stored: boolean) => void)[] = []
    for (const [period, list] of byPeriod) {
      const release = await this.#docs.applyAhead(period, list)
      if (release !== undefined) out.push(release)
    }
    return out
  }

  /** Queues a local write; resolves once it is stored (not yet delivered). */
  write(op: LocalOp): Promise<ChatMessage | undefined> {
    return this.#writer.write(op)
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

  /** The bytes of {@link periodEntries} (what a pull serves). */
  periodEntryBytes(period: number, above: Map<string, number>): Promise<Uint8Array[]> {
    return this.#store.periodEntryBytes(this.room, period, above)
  }

  /** Lowest seq of the run of entries that ends at the author's newest verified head. */
  topSegmentStart(a: AuthorState): Promise<number> {
    return this.#authors.topSegmentStart(a)
  }

  /** A period document, loading it if needed (tests and tools compare documents across peers). */
  async periodDoc(
    period: number,
  ): Promise<{ stateVector(): Map<number, number>; encodeSnapshot(): Uint8Array }> {
    return (await this.#docs.doc(period)).doc
  }

  /** The room's name, topic and kind, once someone has written them. */
  meta(): Promise<RoomMeta | undefined> {
    return this.#docs.meta()
  }

  /** Stored entries of the loaded days that wait for a key this device does not hold (yet). */
  locked(): Promise<Entry[]> {
    return this.#docs.locked()
  }

  /** Loads the next older period that holds messages; false when there is none. */
  loadOlder(): Promise<boolean> {
    return this.#docs.loadOlder()
  }

  /** The day documents in memory, oldest first (tests, tools). */
  loadedDays(): number[] {
    return this.#docs.loadedDays()
  }

  /** Messages of every loaded period, in display order. */
  messages(): Promise<DisplayMessage[]> {
    return this.#docs.messages()
  }

  /** Writes the snapshots of changed documents now. */
  flush(): Promise<void> {
    return this.#docs.flush()
  }

  /** Unloads the day documents nobody read or wrote for the idle time (`idleMs`). */
  unloadIdle(): Promise<void> {
    return this.#docs.unloadIdle()
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#writer.close()
    await this.#docs.close()
  }
}

/** Entries by their period, in the order they came. */
function byPeriodOf(entries: readonly Verified[]): Map<number, Entry[]> {
  const byPeriod = new Map<number, Entry[]>()
  for (const { entry } of entries) {
    const list = byPeriod.get(entry.period)
    if (list === undefined) byPeriod.set(entry.period, [entry])
    else list.push(entry)
  }
  return byPeriod
}

/** The authors of `entries`, once each. */
function authorsOf(entries: readonly Verified[]): Uint8Array[] {
  const byKey = new Map<string, Uint8Array>()
  let previous: Uint8Array | undefined
  for (const { entry } of entries) {
    // a chain's entries come together: most are the previous entry's author
    if (previous !== undefined && equalBytes(previous, entry.author)) continue
    previous = entry.author
    byKey.set(hex(entry.author), entry.author)
  }
  return [...byKey.values()]
}
