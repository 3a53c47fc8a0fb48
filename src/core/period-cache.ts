/**
 * The period documents of one room held in memory: a window of the newest (at least
 * {@link WINDOW_MESSAGES} messages), older ones on demand, each loaded from where it persists plus
 * the stored entries after it. In the browser a document persists itself as it changes
 * ({@link DocPersistence}: y-indexeddb) and only its covers are recorded a little after it changes;
 * elsewhere its whole snapshot is written to the store then.
 */
import { createLogger } from '../net/logger.ts'
import { PeriodDoc, type DisplayMessage } from '../crdt/period-doc.ts'
import { META_PERIOD, decodeEntry, type Entry } from '../crdt/entry.ts'
import { withEdit } from '../crdt/display.ts'
import { compareHlc } from '../crdt/hlc.ts'
import type { EditRecord, RoomMeta } from '../crdt/schema.ts'
import { hex, type StoredEntry } from './store.ts'
import {
  markChanged,
  markSaved,
  openPeriod,
  type LoadedDoc,
  type PeriodSource,
} from './period-load.ts'

export type { LoadedDoc }

const log = createLogger('parley:core:periods')

/** How many messages the in-memory window tries to hold (newest periods first). */
export const WINDOW_MESSAGES = 200
/** How long a changed document waits before its snapshot (or covers) is written. */
const SNAPSHOT_DELAY_MS = 2_000
/**
 * A store snapshot is the whole document, so rewriting it on every change of a busy day costs
 * more as the day grows (12,000 messages: 4 MB, ~30 ms to encode — every 2 s, on every peer in the
 * room). It is rewritten once the updates since weigh this share of it, which keeps all of a day's
 * rewrites to a few times its final size…
 */
export const SNAPSHOT_GROWTH = 0.25
/** …or once its first unsaved change is this old: what a restart replays stays bounded. */
export const SNAPSHOT_MAX_AGE_MS = 60_000

export type ApplyOutcome = 'applied' | 'gap' | 'duplicate' | 'invalid' | 'locked'

export interface PeriodCacheInit extends PeriodSource {
  onChange: () => void
}

export class PeriodCache {
  readonly #init: PeriodCacheInit
  readonly #docs = new Map<number, Promise<LoadedDoc>>()
  #snapshotTimer: ReturnType<typeof setTimeout> | undefined
  #closed = false
  /** Local writes in flight: their changes are in documents but not yet in the store. */
  #writing = 0
  /** Persisted documents being deleted (after a failed write): loads wait for it. */
  readonly #discarding = new Map<number, Promise<void>>()

  constructor(init: PeriodCacheInit) {
    this.#init = init
  }

  get #room(): string {
    return this.#init.room
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

  isLoaded(period: number): boolean {
    return this.#docs.has(period)
  }

  /**
   * Forgets a document and what it persisted (after a failed write, so that it is rebuilt from what
   * is really stored).
   */
  drop(period: number): void {
    const p = this.#docs.get(period)
    this.#docs.delete(period)
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
      this.scheduleSnapshot()
    }
  }

  async #load(period: number): Promise<LoadedDoc> {
    await this.#discarding.get(period)
    const { d, entries } = await openPeriod(this.#init, period)
    d.doc.onChange(() => this.#init.onChange())
    this.#replay(d, entries)
    if (d.changedSince !== undefined) this.scheduleSnapshot()
    return d
  }

  /**
   * Applies entries (ascending per author) of one period to its document if it is loaded, or
   * loads it when it belongs in the window.
   */
  async apply(period: number, entries: readonly Entry[]): Promise<void> {
    const p = this.#docs.get(period)
    if (p === undefined) {
      if (period === META_PERIOD || period > this.#newestLoaded() || (await this.#windowShort())) {
        await this.doc(period)
      }
      return
    }
    const d = await p
    let gap = false
    const locked = new Set<string>()
    d.doc.batch(() => {
      for (const entry of entries) {
        const key = hex(entry.author)
        const outcome = locked.has(key) ? 'locked' : this.applyEntry(d, entry)
        if (outcome === 'gap') {
          gap = true
          break
        }
        if (outcome === 'locked') {
          locked.add(key)
          d.locked.set(`${key}:${entry.seq}`, entry)
        }
      }
    })
    // A gap here, or an earlier one these entries may have filled: newer entries already stored
    // above it must be applied now (pulls send a busy day's chunks newest first).
    if (gap || d.behind) await this.applyStored(period, d)
    if (d.changedSince !== undefined) this.scheduleSnapshot()
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
    if (d.changedSince !== undefined) this.scheduleSnapshot()
  }

  /** Applies stored entries (ascending per author) as one change of the document. */
  #replay(d: LoadedDoc, entries: readonly StoredEntry[]): void {
    d.behind = false
    d.locked.clear()
    const blocked = new Set<string>()
    const locked = new Set<string>()
    d.doc.batch(() => {
      for (const e of entries) {
        const key = hex(e.author)
        if (blocked.has(key)) continue
        let entry: Entry
        try {
          entry = decodeEntry(e.bytes)
        } catch (err) {
          log.error('stored entry %s/%d unreadable: %e', this.#room, e.seq, err)
          blocked.add(key)
          continue
        }
        const outcome = locked.has(key) ? 'locked' : this.applyEntry(d, entry)
        if (outcome === 'gap') {
          blocked.add(key)
          d.behind = true
        } else if (outcome === 'locked') {
          locked.add(key)
          d.locked.set(`${key}:${entry.seq}`, entry)
        }
      }
    })
  }

  applyEntry(d: LoadedDoc, entry: Entry): ApplyOutcome {
    const key = hex(entry.author)
    if ((d.covers.get(key) ?? 0) >= entry.seq) return 'duplicate'
    try {
      const update = this.#init.open === undefined ? entry.update : this.#init.open(entry)
      if (update === 'locked') return 'locked'
      // Not a document update (a key record): nothing to apply. `covers` stays: it may only pass
      // entries applied in chain order, and this one may have come before its predecessors.
      if (update === 'skip') return 'duplicate'
      const ctx = this.#init.identity.ctxFor(entry.author, entry.seq, this.#room, entry.period)
      const result = d.doc.apply(ctx, update)
      if (result !== 'gap') {
        d.covers.set(key, entry.seq)
        markChanged(d, update.length)
      }
      return result
    } catch (err) {
      // A signed entry whose update is not valid: its author wrote garbage. Skip it (covers moves
      // past it so the rest of the chain still applies) and say so.
      log.error('invalid update in %s/%d by %s: %e', this.#room, entry.seq, key.slice(0, 8), err)
      d.covers.set(key, entry.seq)
      return 'invalid'
    }
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
    for (const p of this.#dayPeriods()) count += (await this.doc(p)).doc.messages().length
    return count < WINDOW_MESSAGES
  }

  /** Loads the newest periods until the window holds {@link WINDOW_MESSAGES} messages. */
  async loadWindow(): Promise<void> {
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
    const periods = this.#dayPeriods().sort((a, b) => a - b)
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

  async meta(): Promise<RoomMeta | undefined> {
    return (await this.doc(META_PERIOD)).doc.meta()
  }

  scheduleSnapshot(): void {
    if (this.#snapshotTimer !== undefined || this.#closed) return
    this.#snapshotTimer = setTimeout(() => {
      this.#snapshotTimer = undefined
      this.#save(false).catch((err: unknown) => log.error('snapshot failed: %e', err))
    }, SNAPSHOT_DELAY_MS)
    this.#snapshotTimer.unref?.()
  }

  /**
   * Writes the snapshot of every changed document, or just its covers when it persists itself
   * (later, if a local write is in flight: the document holds changes the store does not yet).
   */
  flush(): Promise<void> {
    return this.#save(true)
  }

  /** `all`: every changed document; else only those whose snapshot is due ({@link SNAPSHOT_GROWTH}). */
  async #save(all: boolean): Promise<void> {
    let waiting = false
    for (const [period, p] of this.#docs) {
      const d = await p.catch(() => undefined)
      if (d?.changedSince === undefined) continue
      if (this.#writing > 0) {
        this.scheduleSnapshot()
        return
      }
      if (d.persisted !== undefined) {
        markSaved(d)
        await d.persisted.saveCovers(new Map(d.covers))
        continue
      }
      if (!all && !snapshotDue(d, Date.now())) {
        waiting = true
        continue
      }
      const snapshot = { bytes: d.doc.encodeSnapshot(), covers: new Map(d.covers) }
      markSaved(d, snapshot.bytes.length)
      await this.#init.store.putSnapshot(this.#room, period, snapshot)
    }
    if (waiting) this.scheduleSnapshot()
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#snapshotTimer)
    await this.flush()
    for (const p of this.#docs.values()) {
      const d = await p.catch(() => undefined)
      if (d?.persisted !== undefined) await d.persisted.close()
      else d?.doc.destroy()
    }
    this.#docs.clear()
    await Promise.all(this.#discarding.values())
  }
}

/** A changed document's store snapshot is rewritten once its changes weigh enough, or are old. */
export function snapshotDue(d: LoadedDoc, now: number): boolean {
  return (
    d.changedBytes >= d.snapshotBytes * SNAPSHOT_GROWTH ||
    now - (d.changedSince ?? now) >= SNAPSHOT_MAX_AGE_MS
  )
}
