/**
 * Long texts (issue #5, point 8): a message longer than {@link LONG_TEXT_BYTES} is stored as a text
 * file and posted as its preview with a 'text' attachment; readers fetch the whole text by its id.
 * Nothing is ever cut off or refused.
 */
import type { Attachment } from '../../crdt/schema.ts'
import { utf8Length } from '../../crdt/guards.ts'
import { bytesSource, type ImportMeta } from './import.ts'

/** Texts longer than this (UTF-8 bytes) travel as a text attachment. */
export const LONG_TEXT_BYTES = 64 * 1024
/** Characters of a long text shown before "show more". */
export const PREVIEW_CHARS = 2_000

/** The first {@link PREVIEW_CHARS} characters of `text`, never splitting a surrogate pair. */
export function previewOf(text: string): string {
  let end = Math.min(PREVIEW_CHARS, text.length)
  const c = text.charCodeAt(end - 1)
  if (end < text.length && c >= 0xd800 && c < 0xdc00) end--
  return text.slice(0, end)
}

/** What long texts need of the file service. */
export interface LongTextFiles {
  add(
    source: AsyncIterable<Uint8Array>,
    meta: ImportMeta,
    signal?: AbortSignal,
    opts?: { sealed?: boolean },
  ): Promise<Attachment>
  has(id: string): Promise<boolean>
  fetch(id: string, opts?: { signal?: AbortSignal }): Promise<void>
  open(att: Pick<Attachment, 'id' | 'key'>): AsyncIterable<Uint8Array>
}

/** Stores a long text as a file (UTF-8; `sealed` in encrypted rooms) and gives its attachment. */
export async function addText(
  files: LongTextFiles,
  text: string,
  sealed: boolean,
): Promise<Attachment> {
  const bytes = new TextEncoder().encode(text)
  const meta = { name: 'message.txt', type: 'text/plain; charset=utf-8', size: bytes.length }
  return { ...(await files.add(bytesSource(bytes), meta, undefined, { sealed })), kind: 'text' }
}

/**
 * For a text over {@link LONG_TEXT_BYTES}: stores it whole as a text file and gives its preview
 * and attachment record. Undefined for a text that fits a message.
 */
export async function longText(
  files: LongTextFiles,
  text: string,
  sealed: boolean,
): Promise<{ preview: string; file: Attachment } | undefined> {
  if (utf8Length(text) <= LONG_TEXT_BYTES) return undefined
  return { preview: previewOf(text), file: await addText(files, text, sealed) }
}

/** The whole text of a long-text attachment (`key`: a sealed one's), fetched first if needed. */
export async function readText(
  files: LongTextFiles,
  id: string,
  signal: AbortSignal | undefined,
  key: string | undefined,
): Promise<string> {
  if (!(await files.has(id))) await files.fetch(id, signal === undefined ? {} : { signal })
  const utf8 = new TextDecoder()
  let text = ''
  const att = key === undefined ? { id } : { id, key }
  for await (const bytes of files.open(att)) text += utf8.decode(bytes, { stream: true })
  return text + utf8.decode()
}
