/**
 * The period documents of one room held in memory: a window of the newest (at least
 * {@link WINDOW_MESSAGES} messages), older ones on demand, each loaded from where it persists plus
 * the stored entries after it. In the browser a document persists itself as it changes
 * ({@link DocPersistence}: y-indexeddb) and only its covers are recorded a little after it changes;
 * elsewhere its whole snapshot is written to the store then (period-saver.ts).
 */
import { createLogger } from '../net/logger.ts'
import { PeriodDoc, type DisplayMessage } from '../crdt/period-doc.ts'
import { META_PERIOD, type Entry } from '../crdt/entry.ts'
import { mergeEdits } from '../crdt/display.ts'
import type { RoomMeta } from '../crdt/schema.ts'
import type { StoredEntry } from './store.ts'
import { OwnDocs } from './own-docs.ts'
import { applyEntries, applyEntry, replayStored, type ApplyOutcome } from './period-apply.ts'
import { openPeriod, type LoadedDoc, type PeriodSource } from './period-load.ts'
import { PeriodSaver } from './period-saver.ts'

export type { LoadedDoc, ApplyOutcome }

const log = createLogger('parley:core:periods')

/** How many messages the in-memory window tries to hold (newest periods first). */
export const WINDOW_MESSAGES = 200
export interface PeriodCacheInit extends PeriodSource {
  onChange: () => void
  /**
   * Day documents nobody has read or written for this long are unloaded, and a room that holds
   * none builds none as entries arrive, only once it is read again: an always-on peer holds every
   * room and shows none, so what it keeps in memory does not grow with the day's history.
   * @default never: a loaded document stays (the browser: its rooms are on screen)
   */
  idleMs?: number
}

export class PeriodCache {
  readonly #init: PeriodCacheInit
  readonly #docs = new Map<number, Promise<LoadedDoc>>()
  /** Writes changed documents back to where they persist. */
  readonly #saver: PeriodSaver
  #closed = false
  /** Local writes in flight: their changes are in documents but not yet in the store. */
  #writing = 0
  /** Persisted documents being deleted (after a failed write): loads wait for it. */
  readonly #discarding = new Map<number, Promise<void>>()
  /** When each loaded day document was last read or written (`idleMs` set). */
  readonly #used = new Map<number, number>()
  /** With `idleMs`: the documents of our own entries that local writes go to (own-docs.ts). */
  readonly #own: OwnDocs | undefined
  /** Days our writes in flight touch, whose loaded documents take them once they are stored. */
  readonly #ownPending = new Set<number>()

  constructor(init: PeriodCacheInit) {
    this.#init = init
    this.#own = init.idleMs === undefined ? undefined : new OwnDocs(init)
    this.#saver = new PeriodSaver({
      room: init.room,
      store: init.store,
      docs: this.#docs,
      writing: () => this.#writing > 0,
    })
  }

  get #room(): string {
    return this.#init.room
  }

  /**
   * The period document for `period`, loaded from its snapshot plus the entries after it (a read or
   * a write: it is not idle).
   */
  doc(period: number): Promise<LoadedDoc> {
    if (this.#init.idleMs !== undefined) this.#used.set(period, Date.now())
    return this.#get(period)
  }

  #get(period: number): Promise<LoadedDoc> {
    let p = this.#docs.get(period)
    if (p === undefined) {
      p = this.#load(period)
      this.#docs.set(period, p)
      p.catch(() => this.#docs.delete(period))
    }
    return p
  }

  isLoaded(period: number): boolean {
    return this.#docs.has(period)
  }

  /** The day documents in memory, oldest first (tests, tools). */
  loadedDays(): number[] {
    return this.#dayPeriods().sort((a, b) => a - b)
  }

  /**
   * Forgets a document and what it persisted (after a failed write, so that it is rebuilt from what
   * is really stored).
   */
  drop(period: number): void {
    this.#own?.drop(period)
    const p = this.#docs.get(period)
    this.#docs.delete(period)
    this.#used.delete(period)
    if (p === undefined) return
    const gone = p
      .then(async (d) => (d.persisted !== undefined ? d.persisted.discard() : d.doc.destroy()))
      .catch((err: unknown) => log.error('dropping %s/%d: %e', this.#room, period, err))
    this.#discarding.set(period, gone)
    void gone.then(() => {
      if (this.#discarding.get(period) === gone) this.#discarding.delete(period)
    })
  }

  /**
   * Builds the documents of `periods` again from the stored entries (a revocation cut arrived that
   * refuses entries they already contain): what each persisted is discarded — its y-indexeddb
   * document, or its snapshot in the store, replaced by an empty one — and a loaded one is loaded
   * again.
   */
  async rebuild(periods: Iterable<number>): Promise<void> {
    for (const period of periods) {
      const p = this.#docs.get(period)
      this.#docs.delete(period)
      const d = await p?.catch(() => undefined)
      if (d?.persisted !== undefined) await d.persisted.discard()
      else if (this.#init.docs !== undefined)
        await (await this.#init.docs.open(this.#room, period)).discard()
      else {
        d?.doc.destroy()
        const empty = new PeriodDoc(this.#room, period)
        const bytes = empty.encodeSnapshot()
        empty.destroy()
        await this.#init.store.putSnapshot(this.#room, period, { bytes, covers: new Map() })
      }
      if (p !== undefined) await this.doc(period)
    }
    this.#init.onChange()
  }

  /** Brackets a local write: no snapshot is taken while one is in flight. */
  beginWrite(): () => void {
    this.#writing += 1
    let done = false
    return () => {
      if (done) return
      done = true
      this.#writing -= 1
      this.#saver.schedule()
      if (this.#writing === 0) this.#takeOwn()
    }
  }

  /**
   * The document a local write to `period` goes to: the day's own-entries document when documents
   * unload when idle (`idleMs`), else the day's document itself.
   */
  forWrite(period: number): Promise<LoadedDoc> {
    if (this.#own === undefined || period === META_PERIOD) return this.doc(period)
    this.#ownPending.add(period)
    return this.#own.get(period)
  }

  /** Our writes are stored: the loaded documents of their days take them. */
  #takeOwn(): void {
    for (const period of this.#ownPending) {
      this.#ownPending.delete(period)
      const p = this.#docs.get(period)
      if (p === undefined) continue
      p.then((d) => this.applyStored(period, d)).catch((err: unknown) =>
        log.error('applying our entries to %s/%d: %e', this.#room, period, err),
      )
    }
  }

  async #load(period: number): Promise<LoadedDoc> {
    await this.#discarding.get(period)
    const { d, entries } = await openPeriod(this.#init, period)
    d.doc.onChange(() => this.#init.onChange())
    this.#replay(d, entries)
    if (d.changedSince !== undefined) this.#saver.schedule()
    return d
  }

  /**
   * Applies entries (ascending per author) of one period to its document if it is loaded, or
   * loads it when it belongs in the window.
   */
  async apply(period: number, entries: readonly Entry[]): Promise<void> {
    const p = this.#docs.get(period)
    if (p === undefined) {
      // A room nobody reads builds no document: a read loads it with these entries.
      if (period !== META_PERIOD && this.#asleep()) this.#init.onChange()
      else if (
        period === META_PERIOD ||
        period > this.#newestLoaded() ||
        (await this.#windowShort())
      ) {
        await this.doc(period)
      }
      return
    }
    const d = await p
    const gap = applyEntries(this.#init, d, entries)
    // A gap here, or an earlier one these entries may have filled: newer entries already stored
    // above it must be applied now (pulls send a busy day's chunks newest first).
    if (gap || d.behind) await this.applyStored(period, d)
    if (d.changedSince !== undefined) this.#saver.schedule()
  }

  /**
   * Applies a live push's entries (ascending per author) to their period's document while the store
   * writes them, if that document is loaded; stops at the first one that does not apply in order
   * (the store-backed {@link apply} after the write takes it). Until the returned function is told
   * the store's answer the document's updates are held and no snapshot or covers are saved: `true`
   * writes them, `false` forgets the document (it is rebuilt from what is stored). Undefined when
   * nothing was applied ahead.
   */
  async applyAhead(
    period: number,
    entries: readonly Entry[],
  ): Promise<((stored: boolean) => void) | undefined> {
    const d = await this.#docs.get(period)?.catch(() => undefined)
    if (d === undefined || d.behind) return undefined
    const release = d.persisted?.deferWrites()
    const done = this.beginWrite()
    d.doc.batch(() => {
      for (const entry of entries) {
        const outcome = this.applyEntry(d, entry)
        if (outcome === 'gap' || outcome === 'locked') break
      }
    })
    return (stored) => {
      release?.(stored)
      if (!stored) this.drop(period)
      done()
    }
  }

  /** Applies to a loaded document every stored entry of its period it does not contain yet. */
  async applyStored(period: number, d: LoadedDoc): Promise<void> {
    this.#replay(d, await this.#init.store.periodEntries(this.#room, period, d.covers))
    if (d.changedSince !== undefined) this.#saver.schedule()
  }

  /** Applies stored entries (ascending per author) as one change of the document. */
  #replay(d: LoadedDoc, entries: readonly StoredEntry[]): void {
    replayStored(this.#init, d, entries)
  }

  applyEntry(d: LoadedDoc, entry: Entry): ApplyOutcome {
    return applyEntry(this.#init, d, entry)
  }

  /**
   * New keys arrived: applies to every loaded document the stored entries it lacks (locked ones,
   * and those that arrived while this peer held no key and built no documents).
   */
  async unlock(): Promise<void> {
    for (const [period, p] of [...this.#docs]) {
      const d = await p.catch(() => undefined)
      if (d !== undefined) await this.applyStored(period, d)
    }
  }

  /** Entries of the loaded day documents that wait for their key, in no particular order. */
  async locked(): Promise<Entry[]> {
    await this.#wake()
    const out: Entry[] = []
    for (const p of this.#dayPeriods()) out.push(...(await this.doc(p)).locked.values())
    return out
  }

  #dayPeriods(): number[] {
    return [...this.#docs.keys()].filter((p) => p !== META_PERIOD)
  }

  #newestLoaded(): number {
    return Math.max(-Infinity, ...this.#dayPeriods())
  }

  async #windowShort(): Promise<boolean> {
    let count = 0
    for (const p of this.#dayPeriods()) count += (await this.#get(p)).doc.messages().length
    return count < WINDOW_MESSAGES
  }

  /** Unloaded for being idle, or never loaded, and documents are unloaded when idle. */
  #asleep(): boolean {
    return this.#init.idleMs !== undefined && this.#dayPeriods().length === 0
  }

  /** A read of a room asleep loads its window first. */
  async #wake(): Promise<void> {
    if (this.#asleep()) await this.#loadWindow()
  }

  /**
   * Loads the newest periods until the window holds {@link WINDOW_MESSAGES} messages (not in a
   * room asleep: its first read does).
   */
  async loadWindow(): Promise<void> {
    if (!this.#asleep()) await this.#loadWindow()
  }

  async #loadWindow(): Promise<void> {
    const periods = await this.#init.store.periods(this.#room)
    // The room's meta document (its name, topic, kind: what the room list shows) loads meanwhile.
    // One that fails to load is dropped from the cache: `meta()` tries again and reports it.
    const meta = periods.includes(META_PERIOD)
      ? this.doc(META_PERIOD).catch(() => undefined)
      : undefined
    let count = 0
    for (const period of periods) {
      if (period === META_PERIOD) continue
      count += (await this.doc(period)).doc.messages().length
      if (count >= WINDOW_MESSAGES) break
    }
    await meta
  }

  /** Loads the next older period that holds messages; false when there is none. */
  async loadOlder(): Promise<boolean> {
    if (this.#asleep()) {
      await this.#loadWindow()
      if (!this.#asleep()) return true
    }
    const oldest = Math.min(Infinity, ...this.#dayPeriods())
    const older = (await this.#init.store.periods(this.#room)).find(
      (p) => p !== META_PERIOD && p < oldest,
    )
    if (older === undefined) return false
    await this.doc(older)
    this.#init.onChange()
    return true
  }

  /** Messages of every loaded period, in display order, each with its latest edit. */
  async messages(): Promise<DisplayMessage[]> {
    await this.#wake()
    const periods = this.#dayPeriods().sort((a, b) => a - b)
    return mergeEdits(await Promise.all(periods.map(async (p) => (await this.doc(p)).doc)))
  }

  async meta(): Promise<RoomMeta | undefined> {
    return (await this.doc(META_PERIOD)).doc.meta()
  }

  /**
   * Writes the snapshot of every changed document, or just its covers when it persists itself
   * (later, if a local write is in flight: the document holds changes the store does not yet).
   */
  flush(): Promise<void> {
    return this.#saver.flush()
  }

  /**
   * Unloads the oldest day documents unread and unwritten for `idleMs` (saved first), up to the
   * first one in use: the loaded days stay the newest ones. Without `idleMs`, nothing. The peer
   * sweeps all its rooms at once (room-set.ts), not each room on a timer of its own.
   */
  async unloadIdle(): Promise<void> {
    const idleMs = this.#init.idleMs
    if (idleMs === undefined) return
    const idle = (p: number): boolean => Date.now() - (this.#used.get(p) ?? 0) >= idleMs
    const periods = this.#dayPeriods().sort((a, b) => a - b)
    if (this.#closed || this.#writing > 0 || !periods.some(idle)) return
    await this.flush()
    for (const period of periods) {
      const p = this.#docs.get(period)
      if (p === undefined) continue
      const d = await p.catch(() => undefined)
      // read, written or changed meanwhile: it and every newer one stay
      if (this.#closed || this.#writing > 0 || !idle(period) || this.#docs.get(period) !== p) return
      if (d?.changedSince !== undefined) return
      this.#docs.delete(period)
      this.#used.delete(period)
      if (d?.persisted !== undefined) await d.persisted.close()
      else d?.doc.destroy()
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#saver.close()
    await this.flush()
    for (const p of this.#docs.values()) {
      const d = await p.catch(() => undefined)
      if (d?.persisted !== undefined) await d.persisted.close()
      else d?.doc.destroy()
    }
    this.#docs.clear()
    this.#own?.close()
    await Promise.all(this.#discarding.values())
  }
}
