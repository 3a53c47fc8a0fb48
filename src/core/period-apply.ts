/**
 * How entries reach a period document: each in its author's chain order, decrypted where the room is
 * encrypted, checked by the document before Yjs sees it; what does not apply is said (gap, locked,
 * duplicate, invalid) and the document is left as it was.
 */
import { createLogger } from '../net/logger.ts'
import { decodeEntry, type Entry } from '../crdt/entry.ts'
import { hex, type StoredEntry } from './store.ts'
import { markChanged, type LoadedDoc, type PeriodSource } from './period-load.ts'

const log = createLogger('parley:core:periods')

export type ApplyOutcome = 'applied' | 'gap' | 'duplicate' | 'invalid' | 'locked'

/** Applies stored entries (ascending per author) as one change of the document. */
export function replayStored(
  src: PeriodSource,
  d: LoadedDoc,
  entries: readonly StoredEntry[],
): void {
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
        log.error('stored entry %s/%d unreadable: %e', src.room, e.seq, err)
        blocked.add(key)
        continue
      }
      if (applyInTurn(src, d, entry, key, locked) === 'gap') {
        blocked.add(key)
        d.behind = true
      }
    }
  })
}

/**
 * Applies entries (ascending per author) as one change of the document, stopping at the first gap;
 * an author's entries from its first locked one on wait in `d.locked` for their key. Whether it
 * stopped at a gap.
 */
export function applyEntries(src: PeriodSource, d: LoadedDoc, entries: readonly Entry[]): boolean {
  let gap = false
  const locked = new Set<string>()
  d.doc.batch(() => {
    for (const entry of entries) {
      if (applyInTurn(src, d, entry, hex(entry.author), locked) === 'gap') {
        gap = true
        break
      }
    }
  })
  return gap
}

/**
 * {@link applyEntry} in its author's chain order: once an entry of author `key` (hex) is locked
 * (`locked` holds the key), its later entries are too, and every locked one waits in `d.locked`.
 */
function applyInTurn(
  src: PeriodSource,
  d: LoadedDoc,
  entry: Entry,
  key: string,
  locked: Set<string>,
): ApplyOutcome {
  const outcome = locked.has(key) ? 'locked' : applyEntry(src, d, entry)
  if (outcome === 'locked') {
    locked.add(key)
    d.locked.set(`${key}:${entry.seq}`, entry)
  }
  return outcome
}

/**
 * Applies one entry to a document: `gap` when an earlier entry of its author is missing, `locked`
 * while its key is, `duplicate` when the document has it (or it is no document update), `invalid`
 * (logged, passed over) when its author wrote garbage.
 */
export function applyEntry(src: PeriodSource, d: LoadedDoc, entry: Entry): ApplyOutcome {
  const key = hex(entry.author)
  if ((d.covers.get(key) ?? 0) >= entry.seq) return 'duplicate'
  try {
    const update = src.open === undefined ? entry.update : src.open(entry)
    if (update === 'locked') return 'locked'
    // Not a document update (a key record): nothing to apply. `covers` stays: it may only pass
    // entries applied in chain order, and this one may have come before its predecessors.
    if (update === 'skip') return 'duplicate'
    const ctx = src.identity.ctxFor(entry.author, entry.seq, src.room, entry.period)
    const result = d.doc.apply(ctx, update)
    if (result !== 'gap') {
      d.covers.set(key, entry.seq)
      markChanged(d, update.length)
    }
    return result
  } catch (err) {
    // A signed entry whose update is not valid: its author wrote garbage. Skip it (covers moves
    // past it so the rest of the chain still applies) and say so.
    log.error('invalid update in %s/%d by %s: %e', src.room, entry.seq, key.slice(0, 8), err)
    d.covers.set(key, entry.seq)
    return 'invalid'
  }
}
