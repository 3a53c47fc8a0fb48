/**
 * What readers see of a message: its author's latest edit merged in, in display order. Pure
 * functions, so that the core can also merge edits across period documents: an edit lands in the
 * period of its own clock, which may be later than its message's.
 */
import { compareHlc, type Hlc } from './hlc.ts'
import { parseMessageId, type ChatMessage, type EditRecord } from './schema.ts'

/** A message as displayed. */
export interface DisplayMessage extends ChatMessage {
  /** `text` is an edit's. */
  readonly edited: boolean
  /** The author deleted the message (`text` is empty). */
  readonly deleted: boolean
  /** Clock of the edit or deletion applied, if any. */
  readonly editedAt: Hlc | null
}

/** `m` unedited, as a fresh object. */
export function toDisplay(m: ChatMessage): DisplayMessage {
  const { id, room, author, wall, count, text, file } = m
  const base = {
    id,
    room,
    author,
    wall,
    count,
    text,
    edited: false,
    deleted: false,
    editedAt: null,
  }
  return file === undefined ? base : { ...base, file: { ...file } }
}

/**
 * `m` with `e` applied if `e` is for `m` and newer than both `m` and the edit already applied: the
 * author's latest change wins, in whatever order edits are found.
 */
export function withEdit(m: DisplayMessage, e: EditRecord | undefined): DisplayMessage {
  if (e === undefined || e.id !== m.id || compareHlc(e, m) <= 0) return m
  if (m.editedAt !== null && compareHlc(e, m.editedAt) <= 0) return m
  const editedAt = { wall: e.wall, count: e.count }
  const edited = { ...m, text: e.deleted ? '' : e.text, edited: !e.deleted, deleted: e.deleted }
  if (!e.deleted) return { ...edited, editedAt }
  // A deleted message keeps nothing of what it shared.
  const { file: _file, ...rest } = edited
  return { ...rest, editedAt }
}

/** What {@link mergeEdits} reads of a period document. */
export interface EditedMessages {
  messages(): readonly DisplayMessage[]
  edits(): ReadonlyMap<string, EditRecord>
}

/**
 * The messages of `docs` (oldest period first), each with its latest edit found in any of them: an
 * edit lives in the document of the day it was made, which may be later than its message's.
 */
export function mergeEdits(docs: readonly EditedMessages[]): DisplayMessage[] {
  const edits = new Map<string, EditRecord>()
  for (const d of docs) {
    for (const [id, e] of d.edits()) {
      const had = edits.get(id)
      if (had === undefined || compareHlc(e, had) > 0) edits.set(id, e)
    }
  }
  // One bulk copy; only with edits about is every message looked up (a read follows every change).
  const out = ([] as DisplayMessage[]).concat(...docs.map((d) => d.messages()))
  if (edits.size === 0) return out
  for (let i = 0; i < out.length; i++) {
    const e = edits.get(out[i]!.id)
    if (e !== undefined) out[i] = withEdit(out[i]!, e)
  }
  return out
}

/** Display order: `(wall, count, author, seq)`, the same on every peer (docs/architecture.md). */
export function compareMessages(a: ChatMessage, b: ChatMessage): number {
  const byClock = compareHlc(a, b)
  if (byClock !== 0) return byClock
  if (a.author !== b.author) return a.author < b.author ? -1 : 1
  return (parseMessageId(a.id)?.seq ?? 0) - (parseMessageId(b.id)?.seq ?? 0)
}
