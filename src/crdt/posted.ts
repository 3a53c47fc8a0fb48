/**
 * The messages an update posts, read from the update alone: no document needs to be loaded (the
 * org's records, the files an always-on peer keeps of rooms whose documents it does not hold).
 */
import * as Y from 'yjs'
import { MESSAGES, isChatMessage, type ChatMessage } from './schema.ts'

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
