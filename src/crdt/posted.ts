/**
 * The messages an update posts, read from the update alone: no document needs to be loaded (the
 * org's records, the files an always-on peer keeps of rooms whose documents it does not hold).
 */
import * as Y from 'yjs'
import { MESSAGES, isChatMessage, type ChatMessage } from './schema.ts'
import { META_PERIOD, type Entry } from './entry.ts'

/** Messages `update` adds to the `messages` map; none for bytes that are no v1 update. */
export function postedIn(update: Uint8Array): ChatMessage[] {
  let structs: ReturnType<typeof Y.decodeUpdate>['structs']
  try {
    structs = Y.decodeUpdate(update).structs
  } catch {
    // not a v1 update: validation refuses the entry where it is applied
    return []
  }
  const out: ChatMessage[] = []
  for (const s of structs) {
    if (!(s instanceof Y.Item)) continue
    const parent: unknown = s.parent // a root's name in a decoded update
    if (parent !== MESSAGES) continue
    if (!(s.content instanceof Y.ContentAny) || s.content.arr.length !== 1) continue
    const v: unknown = s.content.arr[0]
    if (isChatMessage(v)) out.push(v)
  }
  return out
}

/**
 * The messages `entries` post, each opened by `open` (its document update, decrypted; `'skip'` or
 * `'locked'` when there is none to read). Room records and entries `open` throws on post nothing.
 */
export function postedBy(
  entries: readonly Entry[],
  open: (entry: Entry) => Uint8Array | 'skip' | 'locked',
): ChatMessage[] {
  const posted: ChatMessage[] = []
  for (const entry of entries) {
    if (entry.period === META_PERIOD) continue
    let update
    try {
      update = open(entry)
    } catch {
      continue // not applied either (a revocation cut, a broken seal): logged where applied
    }
    if (update !== 'skip' && update !== 'locked') posted.push(...postedIn(update))
  }
  return posted
}
