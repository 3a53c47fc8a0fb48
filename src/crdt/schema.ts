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
  /** The message; for a long text ({@link Attachment} of kind 'text'), its preview. */
  text: string
  /** A shared file, or the whole of a long text, fetched peer to peer by its id. */
  file?: Attachment
}

/**
 * A file shared in a message (issue #5): its id is the SHA-256 of its manifest (src/core/files),
 * which lists the SHA-256 of every chunk. Kind 'text' holds a long message whose `text` is a preview.
 */
export interface Attachment {
  id: string
  name: string
  size: number
  type: string
  kind: 'file' | 'text'
  /** A small preview image made by the sender: `data:image/(png|jpeg|webp|gif);base64,…`. */
  thumb?: string
  /**
   * Files shared in encrypted rooms: the file's key (64 hex); the stored chunks are ciphertext
   * (src/crdt/file-seal.ts) and `name`, `size`, `type` are the plaintext's, known only to members.
   */
  key?: string
}

/** Longest attachment file name, in UTF-8 bytes. */
export const MAX_FILE_NAME_BYTES = 255
/** Longest attachment media type. */
export const MAX_FILE_TYPE_LENGTH = 127
/** Largest embedded thumbnail (its data URL, in characters). */
export const MAX_THUMB_CHARS = 64 * 1024
const FILE_ID_RE = /^[0-9a-f]{64}$/
const FILE_KEY_RE = /^[0-9a-f]{64}$/
const MEDIA_TYPE_RE = /^[\x21-\x7e][\x20-\x7e]*$/
const THUMB_RE = /^data:image\/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/]*={0,2}$/

/** Whether `v` is a file id: 64 lowercase hex digits. */
export const isFileId = (v: unknown): v is string => typeof v === 'string' && FILE_ID_RE.test(v)

const isThumb = (v: unknown): boolean =>
  typeof v === 'string' && v.length <= MAX_THUMB_CHARS && THUMB_RE.test(v)

/** Whether `v` has no own `key`, or one whose value passes `guard` (`undefined` does not). */
function optional(v: object, key: string, guard: (x: unknown) => boolean): boolean {
  const d = Object.getOwnPropertyDescriptor(v, key)
  return d === undefined || guard(d.value)
}

/** Whether `v` is a well-formed {@link Attachment}. */
export function isAttachment(v: unknown): v is Attachment {
  return (
    hasKeys(v, ['id', 'name', 'size', 'type', 'kind'], ['thumb', 'key']) &&
    isFileId(v.id) &&
    isText(v.name, MAX_FILE_NAME_BYTES) &&
    v.name !== '' &&
    Number.isSafeInteger(v.size) &&
    (v.size as number) >= 0 &&
    typeof v.type === 'string' &&
    v.type.length <= MAX_FILE_TYPE_LENGTH &&
    (v.type === '' || MEDIA_TYPE_RE.test(v.type)) &&
    (v.kind === 'file' || v.kind === 'text') &&
    optional(v, 'thumb', isThumb) &&
    optional(v, 'key', (k) => typeof k === 'string' && FILE_KEY_RE.test(k))
  )
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
    hasKeys(v, ['id', 'room', 'author', 'wall', 'count', 'text'], 'file') &&
    optional(v, 'file', isAttachment) &&
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
