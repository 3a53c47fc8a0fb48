/**
 * Which day documents of a room must be built again without some of their entries: entries beyond
 * an author's revocation cut (src/core/revocation-cut.ts), or beyond a removal's cut in an
 * encrypted room (src/core/removal-cut.ts), that were applied before the cut reached this peer.
 * The entries stay stored (and refused by every peer they are served to); only the documents change.
 */
import { META_PERIOD, decodeEntry } from '../crdt/entry.ts'
import { hex, type AuthorState, type HistoryStore } from './store.ts'
import type { RoomKeys } from './room-keys.ts'

/** The periods of `room` that hold stored entries beyond their author's revocation cut. */
export async function periodsBeyondCuts(
  store: HistoryStore,
  room: string,
  authors: readonly AuthorState[],
  cutOf: (room: string, author: Uint8Array) => number | undefined,
): Promise<Set<number>> {
  const periods = new Set<number>()
  for (const a of authors) {
    const cut = cutOf(room, a.author)
    if (cut === undefined || a.head.seq <= cut) continue
    for (const e of await store.entries(room, a.author, cut + 1, a.head.seq)) periods.add(e.period)
  }
  return periods
}

/** The removal cuts of one room's key records, each looked at once per head of its author. */
export class RemovalCuts {
  readonly #room: string
  readonly #store: HistoryStore
  readonly #keys: RoomKeys
  /** Cuts looked at (`author:cutSeq:headSeq`). */
  readonly #seen = new Set<string>()

  constructor(room: string, store: HistoryStore, keys: RoomKeys) {
    this.#room = room
    this.#store = store
    this.#keys = keys
  }

  /**
   * The periods that hold entries beyond a removal's cut not looked at yet for its author's head
   * (`headOf`: the newest seq held of an author).
   */
  async periods(headOf: (author: Uint8Array) => number): Promise<Set<number>> {
    const periods = new Set<number>()
    for (const cut of this.#keys.removalCuts()) {
      const head = headOf(cut.key)
      const id = `${hex(cut.key)}:${cut.seq}:${head}`
      if (head <= cut.seq || this.#seen.has(id)) continue
      this.#seen.add(id)
      for (const s of await this.#store.entries(this.#room, cut.key, cut.seq + 1, head)) {
        if (s.period === META_PERIOD || periods.has(s.period)) continue
        try {
          if (this.#keys.beyondRemoval(decodeEntry(s.bytes))) periods.add(s.period)
        } catch {
          // an unreadable stored entry is reported where documents are built
        }
      }
    }
    return periods
  }
}
