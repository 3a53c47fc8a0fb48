/**
 * The storage contract every Parley peer persists history through: SQLite on Node peers
 * (`src/node/sqlite-store.ts`), IndexedDB in browsers. Entries are the source of truth; period
 * documents are cached snapshots that say which entries they already contain.
 */
import type { Entry } from '../crdt/entry.ts'

/** One verified entry of an author's chain, as stored. `bytes` is the canonical encoding. */
export interface StoredEntry {
  author: Uint8Array
  seq: number
  hash: Uint8Array
  period: number
  bytes: Uint8Array
}

/** An entry whose place in its author's chain has been verified, with its stored form. */
export interface Verified {
  entry: Entry
  stored: StoredEntry
}

/** The newest signed head we hold for one author in one room. */
export interface StoredHead {
  author: Uint8Array
  seq: number
  hash: Uint8Array
  sig: Uint8Array
}

/** What we hold of one author's chain in one room. */
export interface AuthorState {
  author: Uint8Array
  /** Highest seq such that we hold every entry 1..contig (0: none). */
  contig: number
  /** The newest verified head (its seq ≥ contig; above contig there may be holes). */
  head: StoredHead
}

/** A cached period document and, per author (key: hex of the author key), the highest seq it contains. */
export interface Snapshot {
  bytes: Uint8Array
  covers: Map<string, number>
}

export interface HistoryStore {
  /** Every room we hold entries for. */
  rooms(): Promise<string[]>
  /** Per author: contiguous prefix and newest head. */
  authors(room: string): Promise<AuthorState[]>
  /**
   * Atomically stores verified entries (existing ones are ignored) and, when given, a newer head.
   * Entries must already be verified against `head` or a previously stored head.
   */
  append(room: string, entries: readonly StoredEntry[], head?: StoredHead): Promise<void>
  /** Entries of one author with `fromSeq <= seq <= toSeq`, ascending. */
  entries(room: string, author: Uint8Array, fromSeq: number, toSeq: number): Promise<StoredEntry[]>
  /**
   * Entries of one period, ascending by (author, seq). With `above` (key: hex of the author key),
   * only entries above the seq it gives for their author (authors it does not name: all).
   */
  periodEntries(room: string, period: number, above?: Map<string, number>): Promise<StoredEntry[]>
  /**
   * The encoded bytes of {@link periodEntries}`(room, period, above)`, in the same order: what a
   * pull serves, without reading and copying a key, hash and period per row.
   */
  periodEntryBytes(room: string, period: number, above: Map<string, number>): Promise<Uint8Array[]>
  /** The lowest period among one author's entries above `afterSeq` (undefined: none). */
  lowestPeriod(room: string, author: Uint8Array, afterSeq: number): Promise<number | undefined>
  /** Periods that hold entries, newest first. */
  periods(room: string): Promise<number[]>
  snapshot(room: string, period: number): Promise<Snapshot | undefined>
  putSnapshot(room: string, period: number, snapshot: Snapshot): Promise<void>
  /** Small key/value settings (device keys, org data). */
  getSetting(key: string): Promise<Uint8Array | undefined>
  putSetting(key: string, value: Uint8Array): Promise<void>
  close(): Promise<void>
}

/** Thrown when the store cannot write (disk full, read-only, I/O error). Nothing was half-written. */
export class StorageError extends Error {
  static override readonly name = 'StorageError'
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'StorageError'
  }
}

const HEX_BYTES = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Lowercase hex of `b` (map keys for author keys and hashes: called several times per entry). */
export const hex = (b: Uint8Array): string => {
  let s = ''
  for (let i = 0; i < b.length; i++) s += HEX_BYTES[b[i]!]!
  return s
}

/** The setting `key`, made with `make` and stored on first use (device keys, net keys). */
export async function settingOrCreate(
  store: HistoryStore,
  key: string,
  make: () => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const have = await store.getSetting(key)
  if (have !== undefined) return have
  const value = await make()
  await store.putSetting(key, value)
  return value
}
