/**
 * A day's messages as the UI reads them: in display order, each with its latest edit in the day,
 * and the day's edits by message id. Read after every change (the web client and the CLI do), so
 * a read is kept up to date with each transaction's few changes instead of rebuilt and sorted
 * (docs/benchmarks.md, "A day's read").
 */
import type * as Y from 'yjs'
import { compareMessages, toDisplay, withEdit, type DisplayMessage } from './display.ts'
import { isChatMessage, isEditRecord, type EditRecord } from './schema.ts'

/** What a read returns: the day's messages in order, and its edits by message id. */
export interface Read {
  messages: readonly DisplayMessage[]
  edits: ReadonlyMap<string, EditRecord>
}

/** A message as last read: its display object, and the record and edit it was made from. */
interface Shown {
  raw: unknown
  edit: EditRecord | undefined
  m: DisplayMessage
}

/** A transaction touching more messages than this is not patched into the last read: rebuilt. */
const PATCH_MAX_IDS = 64

/** Where `m` is, or would go, in `sorted` (by `compareMessages`): the first index not before it. */
function sortedIndex(sorted: readonly DisplayMessage[], m: DisplayMessage): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareMessages(sorted[mid]!, m) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

export class DayReads {
  readonly #messages: Y.Map<unknown>
  readonly #edits: Y.Map<unknown>
  #read: Read | undefined
  /**
   * The last read's display objects by id, with the record and edit they came from: a message
   * that did not change keeps its object, so the UI re-renders only the rows that did.
   */
  #shown = new Map<string, Shown>()

  /** Reads of a day document's `messages` and `edits` maps. */
  constructor(messages: Y.Map<unknown>, edits: Y.Map<unknown>) {
    this.#messages = messages
    this.#edits = edits
  }

  /** After each transaction of the document. */
  changed(tr: Y.Transaction): void {
    this.#read = this.#read === undefined ? undefined : this.#patch(this.#read, tr)
  }

  /**
   * The last read brought up to date with transaction `tr`'s changes — the messages and edits it
   * touched moved, replaced, added or dropped in place — or undefined (the next read rebuilds) when
   * it touched more than a few. A busy day read after every message (the UI does) would otherwise
   * rebuild and sort the whole day on each one. Same result as a rebuild: the order is total.
   */
  #patch(read: Read, tr: Y.Transaction): Read | undefined {
    const changed = tr.changed as Map<unknown, Set<string | null>>
    const messageKeys = changed.get(this.#messages)
    const editKeys = changed.get(this.#edits)
    if (messageKeys === undefined && editKeys === undefined) return read
    const ids = new Set<string>()
    for (const key of [...(messageKeys ?? []), ...(editKeys ?? [])]) if (key !== null) ids.add(key)
    if (ids.size > PATCH_MAX_IDS) return undefined
    let edits = read.edits
    if (editKeys !== undefined) {
      const next = new Map(read.edits)
      for (const id of editKeys) {
        if (id === null) continue
        const e = this.#edits.get(id)
        if (isEditRecord(e) && e.id === id) next.set(id, e)
        else next.delete(id)
      }
      edits = next
    }
    // not `slice()`: V8 copies a frozen array's elements kind with it, and `splice` on that is ~10× slower
    const messages = Array.from(read.messages)
    for (const id of ids) {
      const raw = this.#messages.get(id)
      const edit = edits.get(id)
      const had = this.#shown.get(id)
      if (had !== undefined && had.raw === raw && had.edit === edit) continue
      if (had !== undefined) {
        const i = sortedIndex(messages, had.m)
        if (messages[i] !== had.m) return undefined
        messages.splice(i, 1)
        this.#shown.delete(id)
      }
      if (isChatMessage(raw) && raw.id === id) {
        const m = withEdit(toDisplay(raw), edit)
        messages.splice(sortedIndex(messages, m), 0, m)
        this.#shown.set(id, { raw, edit, m })
      }
    }
    return { messages: Object.freeze(messages), edits }
  }

  /** The day's messages in display order, and its edits by message id. */
  read(): Read {
    if (this.#read !== undefined) return this.#read
    const edits = new Map<string, EditRecord>()
    for (const [id, e] of this.#edits.entries())
      if (isEditRecord(e) && e.id === id) edits.set(id, e)
    const messages: DisplayMessage[] = []
    const shown = new Map<string, Shown>()
    for (const [id, raw] of this.#messages.entries()) {
      const edit = edits.get(id)
      const had = this.#shown.get(id)
      if (had !== undefined && had.raw === raw && had.edit === edit) {
        messages.push(had.m)
        shown.set(id, had)
      } else if (isChatMessage(raw) && raw.id === id) {
        const m = withEdit(toDisplay(raw), edit)
        messages.push(m)
        shown.set(id, { raw, edit, m })
      }
    }
    this.#shown = shown
    this.#read = { messages: Object.freeze(messages.sort(compareMessages)), edits }
    return this.#read
  }
}
