/**
 * The shape of Parley's Yjs documents: the only file that knows their top-level names, the plain JSON
 * records under them, and the guards that decide whether a value is well-formed.
 *
 * A period document `(room, period)` holds `messages` (message id → {@link ChatMessage}, written once)
 * and `edits` (message id → its author's latest {@link EditRecord}); the room's meta document
 * (`META_PERIOD`) holds `meta`, keyed `<field>/<authorId>` ({@link metaKey}). Every author writes only
 * keys of its own, so no author's item references another's and each author's updates apply on their
 * own, in any interleaving (docs/architecture.md).
 *
 * Guards are strict: a plain object with exactly the listed keys. Records are hashed into signed
 * entries, so extra keys would only be a covert channel; new fields come with a new
 * {@link SCHEMA_VERSION}.
 *
 * @example
 * ```ts
 * for (const [id, value] of messagesOf(doc)) if (isChatMessage(value)) show(id, value.text)
 * ```
 * @packageDocumentation
 */
import type { Doc, Map as YMap } from 'yjs'
import { hasClock, hasKeys, isAuthorId, isText } from './guards.ts'
import { MAX_SEQ, META_PERIOD, isRoomId } from './entry.ts'
import type { Hlc } from './hlc.ts'

export { META_PERIOD, isAuthorId }
export * from './meta.ts'

/** Top-level name of the messages map (period documents). */
export const MESSAGES = 'messages'
/** Top-level name of the edits map (period documents). */
export const EDITS = 'edits'
/** Top-level name of the meta map (the meta document). */
export const META = 'meta'
/** Largest message or edit text, in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 1024 * 1024
/** A message as posted: `author` is the author id, `wall`/`count` the entry's hybrid logical clock. */
export interface ChatMessage extends Hlc {
  id: string
  room: string
  author: string
  text: string
}

/** The author's latest change of message `id`: new text, or a deletion (`deleted`, `text` empty). */
export interface EditRecord extends Hlc {
  id: string
  text: string
  deleted: boolean
}

/** The document's messages: message id → {@link ChatMessage} (unchecked: guard every value). */
export const messagesOf = (doc: Doc): YMap<unknown> => doc.getMap(MESSAGES)
/** The document's edits: message id → {@link EditRecord} (unchecked). */
export const editsOf = (doc: Doc): YMap<unknown> => doc.getMap(EDITS)
/** The meta document's map: `<field>/<authorId>` → {@link MetaValue} (unchecked). */
export const metaOf = (doc: Doc): YMap<unknown> => doc.getMap(META)

const MESSAGE_ID_RE = /^([A-Za-z0-9_-]{12})\.([1-9][0-9]{0,14})$/

/** The id of the message in entry `seq` of `authorId`'s chain: 12 characters of the id, a dot, seq. */
export function messageId(authorId: string, seq: number): string {
  return `${authorId.slice(0, 12)}.${seq}`
}

/** Splits a message id into its author prefix and seq; `undefined` if `id` is not one. */
export function parseMessageId(id: string): { prefix: string; seq: number } | undefined {
  const m = MESSAGE_ID_RE.exec(id)
  const seq = Number(m?.[2])
  return m?.[1] !== undefined && seq <= MAX_SEQ ? { prefix: m[1], seq } : undefined
}

/** Whether message id `id` belongs to `authorId` (its prefix is the author's). */
export const isIdOf = (id: string, authorId: string): boolean =>
  parseMessageId(id)?.prefix === authorId.slice(0, 12)

/** Whether `v` is a well-formed {@link ChatMessage} whose id has its author's prefix. */
export function isChatMessage(v: unknown): v is ChatMessage {
  return (
    hasKeys(v, ['id', 'room', 'author', 'wall', 'count', 'text']) &&
    isAuthorId(v.author) &&
    typeof v.id === 'string' &&
    isIdOf(v.id, v.author) &&
    isRoomId(v.room) &&
    hasClock(v) &&
    isText(v.text, MAX_TEXT_BYTES)
  )
}

/** Whether `v` is a well-formed {@link EditRecord} (a deletion has empty text). */
export function isEditRecord(v: unknown): v is EditRecord {
  return (
    hasKeys(v, ['id', 'text', 'deleted', 'wall', 'count']) &&
    typeof v.id === 'string' &&
    parseMessageId(v.id) !== undefined &&
    typeof v.deleted === 'boolean' &&
    isText(v.text, v.deleted ? 0 : MAX_TEXT_BYTES) &&
    hasClock(v)
  )
}
