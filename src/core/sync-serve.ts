/**
 * The responder's side of a pull: the signed heads the requester lacks, then every entry above
 * what it has, newest first: period by period, newest period first (the meta document,
 * META_PERIOD, sorts above every day and so comes first), each period's entries newest first.
 * The entries go in frames that start small and grow (src/crdt/entry-chunks.ts): the first holds
 * the newest page — it ends at the first day boundary where it holds a page, or at its byte budget
 * — so it is shown while the rest is on its way; the later ones span days, so a long history costs
 * few frames, window updates and store writes.
 */
import type { SignedHead } from '../crdt/entry.ts'
import { MAX_ENTRIES_BYTES, encodeFrame } from '../crdt/wire.ts'
import { EntryChunker } from '../crdt/entry-chunks.ts'
import { hex } from './store.ts'
import type { RoomHistory } from './room-history.ts'

/** Entry bytes per `entries` frame: well under the 3 MiB frame cap. */
export const ENTRIES_FRAME_BYTES = 1024 * 1024
/** Entry bytes in a pull's first `entries` frame (~140 messages of 200 characters). */
export const FIRST_ENTRIES_FRAME_BYTES = 64 * 1024
/**
 * Most entry bytes in a pull's later frames. The requester verifies and stores a frame in one go:
 * bigger ones saved little more and held back the showing of the first (10,000 messages: 1 MiB
 * frames showed the newest 50 after 320 ms, 256 KiB ones after 197 ms, at the same CPU).
 */
export const PULL_FRAME_BYTES = 256 * 1024
/**
 * A page of messages: the first frame ends at the first period boundary where it holds this many
 * entries. A period's document shows none of its messages before all of the period's older
 * entries are in (each continues the last), so the days after the ones that make up the newest
 * page only delay it: a room of 50 messages a day (`npx tsx bench/catchup.ts --quick --runs 8`,
 * twice each way) showed its newest 50 after 92 / 109 ms so, 121 / 138 ms with the first frame
 * filled to its 64 KiB (three days).
 */
export const FIRST_FRAME_ENTRIES = 50
const HEADS_PER_FRAME = 10_000

export async function* servePull(
  room: string,
  h: RoomHistory | undefined,
  haveList: readonly { author: Uint8Array; seq: number }[],
): AsyncGenerator<Uint8Array> {
  if (h === undefined) {
    yield encodeFrame({ type: 'heads', room, heads: [] })
    yield encodeFrame({ type: 'end', room })
    return
  }
  const have = new Map(haveList.map((a) => [hex(a.author), a.seq]))
  const heads: SignedHead[] = []
  const above = new Map<string, number>()
  let minPeriod = Infinity
  for (const a of await h.authors()) {
    const key = hex(a.author)
    const theirs = have.get(key) ?? 0
    if (a.head.seq <= theirs) {
      above.set(key, a.head.seq)
      continue
    }
    // Above a hole we can only serve the run the head's signature covers.
    const from = Math.max(theirs, (await h.topSegmentStart(a)) - 1)
    above.set(key, from)
    heads.push({ room, ...a.head })
    const lowest = await h.lowestPeriod(a.author, from)
    if (lowest !== undefined) minPeriod = Math.min(minPeriod, lowest)
  }
  for (let i = 0; i < Math.max(1, heads.length); i += HEADS_PER_FRAME) {
    yield encodeFrame({ type: 'heads', room, heads: heads.slice(i, i + HEADS_PER_FRAME) })
  }
  // An entry over the budget (a message of up to 1 MiB of text) goes in a frame of its own.
  const chunker = new EntryChunker(
    PULL_FRAME_BYTES,
    FIRST_ENTRIES_FRAME_BYTES,
    MAX_ENTRIES_BYTES,
    FIRST_FRAME_ENTRIES,
  )
  // A frame's `period` is that of its first (newest) entry; older periods may follow in it.
  let period: number | undefined
  for (const p of (await h.periods()).filter((p) => p >= minPeriod)) {
    const page = chunker.boundary()
    if (page !== undefined) {
      yield encodeFrame({ type: 'entries', room, period: period!, entries: page })
      period = undefined
    }
    const entries = await h.periodEntryBytes(p, above)
    for (let i = entries.length - 1; i >= 0; i--) {
      const run = chunker.push(entries[i]!)
      if (run !== undefined)
        yield encodeFrame({ type: 'entries', room, period: period!, entries: run })
      if (run !== undefined || period === undefined) period = p
    }
  }
  const last = chunker.end()
  if (last !== undefined)
    yield encodeFrame({ type: 'entries', room, period: period!, entries: last })
  yield encodeFrame({ type: 'end', room })
}
