/**
 * Splitting a run of entries into sync frames that each stay under the frame cap, in order.
 */
import { MAX_ENTRIES_BYTES } from './wire.ts'

/**
 * Splits `entries`, in order, into runs whose encoded size (length prefixes included) is at most
 * `maxBytes`, one frame each. Throws a `RangeError` if one entry alone exceeds `maxBytes`.
 */
export function chunkEntries(
  entries: readonly Uint8Array[],
  maxBytes: number = MAX_ENTRIES_BYTES,
): Uint8Array[][] {
  const chunks: Uint8Array[][] = []
  let chunk: Uint8Array[] = []
  let size = 0
  for (const e of entries) {
    const cost = varUintLength(e.length) + e.length
    if (cost > maxBytes)
      throw new RangeError(`chunkEntries: an entry of ${e.length} bytes exceeds ${maxBytes}`)
    if (size + cost > maxBytes) {
      chunks.push(chunk)
      chunk = []
      size = 0
    }
    chunk.push(e)
    size += cost
  }
  if (chunk.length > 0) chunks.push(chunk)
  return chunks
}

function varUintLength(n: number): number {
  let len = 1
  for (let v = n; v > 127; v = Math.floor(v / 128)) len++
  return len
}
