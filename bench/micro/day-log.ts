/**
 * A day of a room's messages for the period-document micro-benches: `n` posts of 200 characters
 * by `writers` authors taking turns, 5 ms apart, as the updates a peer would receive.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { authorId, PERIOD_MS } from '../../src/crdt/entry.ts'
import { clientIdOf } from '../../src/crdt/client-id.ts'
import { PeriodDoc } from '../../src/crdt/period-doc.ts'
import type { UpdateContext } from '../../src/crdt/validate.ts'

export const DAY = 20_417
export const ROOM = 'general'

export function dayLog(n: number, writers: number): { c: UpdateContext; update: Uint8Array }[] {
  const authors = Array.from({ length: writers }, (_, i) => {
    const key = sha256(new TextEncoder().encode(`writer ${i}`))
    return { key, id: authorId(key), clientId: clientIdOf(key, sha256) }
  })
  const author = new PeriodDoc(ROOM, DAY)
  const log = Array.from({ length: n }, (_, i) => {
    const w = authors[i % writers]!
    const c = {
      authorKey: w.key,
      authorId: w.id,
      clientId: w.clientId,
      seq: Math.floor(i / writers) + 1,
      room: ROOM,
      period: DAY,
    }
    const text = `message ${i} `.padEnd(200, 'lorem ipsum dolor sit amet ')
    return { c, update: author.post(c, text, { wall: DAY * PERIOD_MS + i * 5, count: 0 }).update }
  })
  author.destroy()
  return log
}
