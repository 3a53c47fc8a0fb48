/**
 * What one room holds of each author's chain, in memory: its contiguous seq and its newest
 * verified head — what heads, digests and delivery acknowledgements claim. Read from the store when
 * the room opens (and again when entries above a hole may have joined a longer run), moved on as
 * entries are stored; this device's own chain is also moved on by its writer (local-writer.ts).
 */
import { decodeEntry, equalBytes } from '../crdt/entry.ts'
import type { HybridClock } from '../crdt/hlc.ts'
import {
  hex,
  type AuthorState,
  type HistoryStore,
  type StoredHead,
  type Verified,
} from './store.ts'

export class AuthorStates {
  /** By the author's key in hex; the writer moves our own chain's entry on itself. */
  readonly map = new Map<string, AuthorState>()
  readonly #room: string
  readonly #store: HistoryStore
  readonly #me: string
  /** Entries above a hole were stored: the store may know a longer contiguous run. */
  #stale = false

  /** `me`: this device's key (its chain in memory may be ahead of the store). */
  constructor(room: string, store: HistoryStore, me: Uint8Array) {
    this.#room = room
    this.#store = store
    this.#me = hex(me)
  }

  /** Every author's state (read again from the store first when it may know more). */
  async list(): Promise<AuthorState[]> {
    if (this.#stale) {
      this.#stale = false
      await this.reload()
    }
    return [...this.map.values()]
  }

  get(key: Uint8Array): AuthorState | undefined {
    return this.map.get(hex(key))
  }

  /** Reads every author's state from the store. */
  async reload(): Promise<void> {
    const rows = await this.#store.authors(this.#room)
    const mine = this.map.get(this.#me)
    this.map.clear()
    for (const a of rows) this.map.set(hex(a.author), a)
    // Our chain in memory can be ahead of the store (a batch published while it is stored, or one
    // the store refused): that head stays, or the next write would sign another entry at its seq.
    const stored = this.map.get(this.#me)
    if (mine !== undefined && mine.head.seq > (stored?.head.seq ?? 0))
      this.map.set(this.#me, { ...mine, contig: stored?.contig ?? 0 })
  }

  /**
   * Moves `clock` past the newest stored entry of every author, ours included: the clock lives
   * in memory, and after a restart with a wall clock that went back (or runs behind the peers'),
   * new messages must still come after everything this peer wrote or held before (found by the
   * multi-host harness: test/hosts, [HOST5]).
   */
  async observeNewest(clock: HybridClock): Promise<void> {
    const last = await Promise.all(
      [...this.map.values()].map(async (a) =>
        a.contig === 0 ? [] : this.#store.entries(this.#room, a.author, a.contig, a.contig),
      ),
    )
    for (const [stored] of last) {
      if (stored === undefined) continue
      try {
        clock.observe(decodeEntry(stored.bytes).hlc)
      } catch (err) {
        // Stored entries were verified before they were stored; a damaged one is not ours to fix here.
        if ((err as Error).name !== 'MalformedEntryError') throw err
      }
    }
  }

  /**
   * Moves the authors of stored `entries` (ascending per author) on; `head` is the signed head they
   * were verified against, when it is newer than what we hold.
   */
  advance(entries: readonly Verified[], head: StoredHead | undefined): void {
    // Per author: its key and its entries' seqs, in order (hex once per run of one author).
    const touched = new Map<string, { author: Uint8Array; seqs: number[] }>()
    let last: { author: Uint8Array; seqs: number[] } | undefined
    for (const { entry } of entries) {
      if (last === undefined || !equalBytes(last.author, entry.author)) {
        const key = hex(entry.author)
        last = touched.get(key)
        if (last === undefined) touched.set(key, (last = { author: entry.author, seqs: [] }))
      }
      last.seqs.push(entry.seq)
    }
    if (head !== undefined && !touched.has(hex(head.author)))
      touched.set(hex(head.author), { author: head.author, seqs: [] })
    for (const [key, { author, seqs }] of touched) {
      const cur = this.map.get(key)
      let contig = cur?.contig ?? 0
      let above = false
      for (const seq of seqs) {
        if (seq === contig + 1) contig = seq
        else if (seq > contig + 1) above = true
      }
      const newer =
        head !== undefined &&
        hex(head.author) === key &&
        (cur === undefined || head.seq > cur.head.seq)
      const state = { author, contig, head: newer ? head : cur!.head }
      // Entries above a hole may have joined a longer run that is now contiguous: ask the store.
      if (above && contig < state.head.seq) this.#stale = true
      this.map.set(key, state)
    }
  }

  /** Lowest seq of the run of entries that ends at the author's newest verified head. */
  async topSegmentStart(a: AuthorState): Promise<number> {
    if (a.contig >= a.head.seq) return 1
    const above = await this.#store.entries(this.#room, a.author, a.contig + 1, a.head.seq)
    let lo = a.head.seq
    for (let i = above.length - 1; i >= 0; i--) {
      if (above[i]!.seq !== lo) break
      lo -= 1
    }
    return lo + 1
  }
}
