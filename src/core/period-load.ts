/**
 * Where a period document comes from when a room's {@link PeriodCache} loads it: its persisted
 * document (browser: y-indexeddb, `src/crdt/idb-docs.ts`) or its snapshot in the store (Node), each
 * with the stored entries it does not contain yet. Failing either, the entries alone.
 */
import { createLogger } from '../net/logger.ts'
import { PeriodDoc } from '../crdt/period-doc.ts'
import { decodeEntry, type Entry } from '../crdt/entry.ts'
import { clockAfter } from '../crdt/validate.ts'
import type { DocPersistence, PersistedPeriod } from '../crdt/doc-persistence.ts'
import { hex, type HistoryStore, type StoredEntry } from './store.ts'
import type { Identity } from './identity.ts'

const log = createLogger('parley:core:periods')

export interface LoadedDoc {
  doc: PeriodDoc
  /** hex(author) → highest seq applied. */
  covers: Map<string, number>
  /**
   * Since the document last matched where it persists (undefined: it does): when it first changed
   * (ms, `Date.now`) and the bytes of the updates applied ({@link markChanged}). A store snapshot is
   * rewritten only once these weigh against its size (PeriodCache), not on every change of a busy day.
   */
  changedSince: number | undefined
  changedBytes: number
  /** Bytes of the snapshot it was loaded from or last wrote to the store (0: none). */
  snapshotBytes: number
  /** Some author's entries met a gap: entries stored above it wait until it fills. */
  behind: boolean
  /** Where it persists itself (browser); without, its snapshot goes to the store. */
  persisted?: PersistedPeriod
  /**
   * Entries of an encrypted room stored but not applied because their epoch key is not held here
   * (and the same author's later ones, which wait behind them), by `hex(author):seq`.
   */
  locked: Map<string, Entry>
}

export interface PeriodSource {
  room: string
  store: HistoryStore
  identity: Identity
  /** Persists documents as they change (browser: y-indexeddb). @default snapshots in `store` */
  docs?: DocPersistence
  /**
   * The Yjs update of an entry (decrypted, in an encrypted room), `'skip'` for an entry that is no
   * document update (a key record), `'locked'` while its key is missing; throws for one never applied.
   * @default the entry's update as it is
   */
  open?: (entry: Entry) => Uint8Array | 'skip' | 'locked'
}

/** A document `(room, period)` and the stored entries to apply to it (ascending per author). */
export interface OpenedPeriod {
  d: LoadedDoc
  entries: StoredEntry[]
}

/** Opens the document of `period` from where it persists, with the entries it still needs. */
export async function openPeriod(src: PeriodSource, period: number): Promise<OpenedPeriod> {
  if (src.docs !== undefined) {
    try {
      return await openPersisted(src, src.docs, period)
    } catch (err) {
      log.error('%s/%d not persisted, rebuilding from entries: %e', src.room, period, err)
    }
  }
  const d = await fromSnapshot(src, period)
  return { d, entries: await src.store.periodEntries(src.room, period, d.covers) }
}

async function fromSnapshot(src: PeriodSource, period: number): Promise<LoadedDoc> {
  const snap = await src.store.snapshot(src.room, period)
  if (snap !== undefined) {
    try {
      const doc = PeriodDoc.fromSnapshot(src.room, period, snap.bytes)
      return { ...clean(doc, snap.covers), snapshotBytes: snap.bytes.length }
    } catch (err) {
      log.error('snapshot of %s/%d unreadable, rebuilding from entries: %e', src.room, period, err)
    }
  }
  return emptyDoc(new PeriodDoc(src.room, period))
}

/** A document that holds nothing yet. */
export function emptyDoc(doc: PeriodDoc): LoadedDoc {
  return clean(doc, new Map())
}

function clean(doc: PeriodDoc, covers: Map<string, number>): LoadedDoc {
  return {
    doc,
    covers,
    changedSince: undefined,
    changedBytes: 0,
    snapshotBytes: 0,
    behind: false,
    locked: new Map(),
  }
}

/** Notes that `bytes` of updates reached the document and are not yet where it persists. */
export function markChanged(d: LoadedDoc, bytes: number): void {
  d.changedSince ??= Date.now()
  d.changedBytes += bytes
}

/** The document now matches where it persists (`snapshotBytes`: the store snapshot just written). */
export function markSaved(d: LoadedDoc, snapshotBytes?: number): void {
  d.changedSince = undefined
  d.changedBytes = 0
  if (snapshotBytes !== undefined) d.snapshotBytes = snapshotBytes
}

async function openPersisted(
  src: PeriodSource,
  docs: DocPersistence,
  period: number,
): Promise<OpenedPeriod> {
  const me = src.identity.signer.publicKey
  const myClient = src.identity.ctxFor(me, 1, src.room, period).clientId
  for (let attempt = 0; ; attempt++) {
    const p = await docs.open(src.room, period)
    let entries: StoredEntry[]
    try {
      entries = await src.store.periodEntries(src.room, period, p.covers)
    } catch (err) {
      await p.close()
      throw err
    }
    // Our writes reach the document (and y-indexeddb) before their entries reach the store: a
    // crash or a failed write in between leaves changes that no entry holds. Writing on top of
    // them would reuse our Yjs clocks (a fork): start the document again from what is stored.
    if (attempt === 0 && p.doc.clockOf(myClient) > storedEnd(src, entries, myClient, p)) {
      log.error('%s/%d held writes never stored: rebuilding from entries', src.room, period)
      await p.discard()
      continue
    }
    const d: LoadedDoc = clean(p.doc, p.covers)
    d.persisted = p
    return { d, entries }
  }
}

/**
 * The clock our Yjs client reaches in a persisted document through our stored entries: those above
 * its covers (`entries`, ascending by author and seq), else where the covers were recorded.
 */
function storedEnd(
  src: PeriodSource,
  entries: readonly StoredEntry[],
  myClient: number,
  p: PersistedPeriod,
): number {
  const mine = hex(src.identity.signer.publicKey)
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!
    if (hex(e.author) !== mine) continue
    try {
      const entry = decodeEntry(e.bytes)
      const update = src.open === undefined ? entry.update : src.open(entry)
      if (update === 'skip') continue // a key record: no document update
      if (update === 'locked') break // our own key is missing: trust nothing past the covers
      return clockAfter(update, myClient)
    } catch (err) {
      // Our own entry unreadable: nothing of ours past the covers can be trusted.
      log.error('own stored entry %s/%d unreadable: %e', p.doc.room, e.seq, err)
      break
    }
  }
  return p.coveredState.get(myClient) ?? 0
}
