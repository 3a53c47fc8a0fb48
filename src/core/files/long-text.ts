/**
 * Long texts (issue #5, point 8): a message longer than {@link LONG_TEXT_BYTES} is stored as a text
 * file and posted as its preview with a 'text' attachment; readers fetch the whole text by its id.
 * Nothing is ever cut off or refused.
 */

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
