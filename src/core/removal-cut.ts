/**
 * Removal cuts of encrypted rooms (src/crdt/e2ee.ts has the format): a key record that leaves
 * members out carries each one's chain head in the room as its author held it. A removed member
 * still holds the older epoch keys and could seal entries under them with any clock it likes; the
 * cut judges them by their place in its chain instead: an entry beyond the cut of the last record
 * that removed its author is refused ({@link RemovedBeyondCutError}) unless the author was added
 * back by a later record that counts, before the entry's clock. Records without a cut (written
 * before cuts existed) leave the clock rule alone (`memberWhen` in src/core/room-key-records.ts).
 */
import { compareBytes, type Entry } from '../crdt/entry.ts'
import { compareHlc } from '../crdt/hlc.ts'
import type { RemovalCut } from '../crdt/e2ee.ts'
import { hex } from './store.ts'
import type { Resolved } from './room-key-records.ts'

/** An entry by a member removed from an encrypted room, beyond the removal's cut. */
export class RemovedBeyondCutError extends Error {
  static override readonly name = 'RemovedBeyondCutError'
  constructor(seq: number, cutSeq: number) {
    super(`Entry ${seq} is beyond its author's removal from the room (cut at seq ${cutSeq})`)
    this.name = 'RemovedBeyondCutError'
  }
}

/** The last record that counts and removed `author` with a cut: its place and the cut. */
function lastRemoval(
  timeline: Resolved['timeline'],
  author: Uint8Array,
): { index: number; cut: RemovalCut } | undefined {
  for (let i = timeline.length - 1; i >= 0; i--) {
    const cut = timeline[i]!.at.record.cut?.find((c) => compareBytes(c.key, author) === 0)
    if (cut !== undefined) return { index: i, cut }
  }
  return undefined
}

/** Why `entry` must not be applied by its removal's cut (undefined: no cut refuses it). */
export function removalRefusal(
  timeline: Resolved['timeline'],
  entry: Pick<Entry, 'author' | 'seq' | 'hlc'>,
): RemovedBeyondCutError | undefined {
  const removal = lastRemoval(timeline, entry.author)
  if (removal === undefined || entry.seq <= removal.cut.seq) return undefined
  // added back later, and written after that (by the last record before its clock)
  for (let i = timeline.length - 1; i > removal.index; i--) {
    const t = timeline[i]!
    if (compareHlc(t.at, entry.hlc) < 0)
      return t.members.has(hex(entry.author))
        ? undefined
        : new RemovedBeyondCutError(entry.seq, removal.cut.seq)
  }
  return new RemovedBeyondCutError(entry.seq, removal.cut.seq)
}

/** The removed authors whose chains a record that counts cuts, each with its last cut. */
export function removalCuts(timeline: Resolved['timeline']): RemovalCut[] {
  const out = new Map<string, RemovalCut>()
  for (const t of timeline) for (const c of t.at.record.cut ?? []) out.set(hex(c.key), c)
  return [...out.values()]
}
