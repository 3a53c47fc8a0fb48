/**
 * Micro-bench of a day's read as the UI drives it: a room's day already holds N messages; each
 * further message is applied (one remote update, as gossip delivers it) and the day read
 * (`messages()`), as the web client and the CLI do after every change. Prints µs per message.
 *
 *   npx tsx bench/micro/period-read.ts [--days 1000,10000] [--more 500]
 */
import { parseArgs } from 'node:util'
import { sha256 } from '@noble/hashes/sha2.js'
import { authorId, PERIOD_MS } from '../../src/crdt/entry.ts'
import { clientIdOf } from '../../src/crdt/client-id.ts'
import { PeriodDoc } from '../../src/crdt/period-doc.ts'

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '1000,10000' },
    more: { type: 'string', default: '500' },
  },
})
const DAY = 20_417
const ROOM = 'general'
const writers = Array.from({ length: 10 }, (_, i) => {
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
  const more = Number(values.more)
  const author = new PeriodDoc(ROOM, DAY)
  const log = Array.from({ length: n + more }, (_, i) => {
    const c = ctx(i % writers.length, Math.floor(i / writers.length) + 1)
    return {
      c,
      update: author.post(c, text(i), { wall: DAY * PERIOD_MS + i * 5, count: 0 }).update,
    }
  })
  const reader = PeriodDoc.fromSnapshot(
    ROOM,
    DAY,
    (() => {
      const d = new PeriodDoc(ROOM, DAY)
      d.batch(() => log.slice(0, n).forEach((e) => d.apply(e.c, e.update)))
      const s = d.encodeSnapshot()
      d.destroy()
      return s
    })(),
  )
  reader.messages()
  const t0 = performance.now()
  for (const e of log.slice(n)) {
    reader.apply(e.c, e.update)
    if (reader.messages().length === 0) throw new Error('empty read')
  }
  const us = ((performance.now() - t0) * 1000) / more
  console.log(
    `day of ${n} messages: apply + read ${us.toFixed(1)} µs per message (${more} messages)`,
  )
  author.destroy()
  reader.destroy()
}
