/**
 * Where period documents live between sessions when they persist themselves (the browser, with
 * y-indexeddb: `idb-docs.ts`). Node peers have none: they keep compacted snapshots in their
 * HistoryStore instead. Either way the signed entries in the store stay the source of truth; a
 * persisted document is a cache that says which entries it already contains.
 */
import type { PeriodDoc } from './period-doc.ts'

/** One period document, loaded and from now on persisted as it changes. */
export interface PersistedPeriod {
  readonly doc: PeriodDoc
  /**
   * hex(author) → highest seq the document contained when {@link saveCovers} last ran, checked
   * against the document: empty when the document has lost updates since (then replay them all).
   */
  readonly covers: Map<string, number>
  /** Yjs client → clock the document had when those covers were recorded (its state vector). */
  readonly coveredState: ReadonlyMap<number, number>
  /**
   * Records that the document contains entries up to `covers` (with its state vector, taken at the
   * call). Call only while the document holds nothing but stored entries.
   */
  saveCovers(covers: ReadonlyMap<string, number>): Promise<void>
  /**
   * Keeps the document's updates in memory until the returned function is called: with `true` they
   * are then written (as one), with `false` dropped (they never reached the store; the document is
   * being discarded). Holds nest. A local write holds its document's update until its entry is
   * stored: both are IndexedDB transactions, and the browser's backend would commit the update
   * first, with the entry (and so the publish) queued behind it.
   */
  deferWrites(): (write: boolean) => void
  /** Stops persisting (the data stays) and destroys the document. */
  close(): Promise<void>
  /** Stops persisting, destroys the document and deletes its data: the next open starts empty. */
  discard(): Promise<void>
}

/** Opens persisted period documents of one account. */
export interface DocPersistence {
  /** The document `(room, period)` as persisted (empty if never), persisting from now on. */
  open(room: string, period: number): Promise<PersistedPeriod>
  /** Closes every open document and deletes every persisted one (the account's data is going). */
  clear(): Promise<void>
}
