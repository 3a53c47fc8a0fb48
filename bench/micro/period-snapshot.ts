/**
 * Micro-bench of what a day's document costs a Node peer as it grows: heap per message held
 * (after a full GC) and the size and encode time of its store snapshot (`encodeSnapshot`, which
 * `PeriodCache` rewrites as the day grows: src/core/period-cache.ts, SNAPSHOT_GROWTH).
 *
 *   node --expose-gc --import tsx bench/micro/period-snapshot.ts [--days 1000,3000,12000]
 */
import { parseArgs } from 'node:util'
import { sha256 } from '@noble/hashes/sha2.js'
import { authorId, PERIOD_MS } from '../../src/crdt/entry.ts'
import { clientIdOf } from '../../src/crdt/client-id.ts'
import { PeriodDoc } from '../../src/crdt/period-doc.ts'

const { values } = parseArgs({ options: { days: { type: 'string', default: '1000,3000,12000' } } })
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with node --expose-gc')
const DAY = 20_417
const ROOM = 'general'
// As many writers as the load bench's devices.
const writers = Array.from({ length: 47 }, (_, i) => {
  const key = sha256(new TextEncoder().encode(`writer ${i}`))
  return { key, id: authorId(key), clientId: clientIdOf(key, sha256) }
})
const ctx = (w: number, seq: number) => ({
  authorKey: writers[w]!.key,
  authorId: writers[w]!.id,
  clientId: writers[w]!.clientId,
  seq,
  room: ROOM,
  period: DAY,
})
const text = (i: number): string => `message ${i} `.padEnd(200, 'lorem ipsum dolor sit amet ')

for (const n of values.days.split(',').map(Number)) {
  const author = new PeriodDoc(ROOM, DAY)
  const log = Array.from({ length: n }, (_, i) => {
    const c = ctx(i % writers.length, Math.floor(i / writers.length) + 1)
    const hlc = { wall: DAY * PERIOD_MS + i * 5, count: 0 }
    return { c, update: author.post(c, text(i), hlc).update }
  })
  author.destroy()
  gc()
  const before = process.memoryUsage().heapUsed
  const doc = new PeriodDoc(ROOM, DAY)
  for (const e of log) doc.apply(e.c, e.update)
  doc.messages()
  gc()
  const heap = process.memoryUsage().heapUsed - before
  const t0 = performance.now()
  let bytes = 0
  for (let k = 0; k < 10; k++) bytes = doc.encodeSnapshot().length
  const ms = (performance.now() - t0) / 10
  console.log(
    `${n} messages: heap ${(heap / n).toFixed(0)} B/message, snapshot ${(bytes / 1024).toFixed(0)} KiB (${(bytes / n).toFixed(0)} B/message), encode ${ms.toFixed(2)} ms`,
  )
  doc.destroy()
}
