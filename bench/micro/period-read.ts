/**
 * Micro-bench of a day's read as the UI drives it: a room's day already holds N messages; each
 * further message is applied (one remote update, as gossip delivers it) and the day read
 * (`messages()`), as the web client and the CLI do after every change. Prints µs per message.
 *
 *   npx tsx bench/micro/period-read.ts [--days 1000,10000] [--more 500]
 */
import { parseArgs } from 'node:util'
import { PeriodDoc } from '../../src/crdt/period-doc.ts'
import { DAY, dayLog, ROOM } from './day-log.ts'

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '1000,10000' },
    more: { type: 'string', default: '500' },
  },
})

for (const n of values.days.split(',').map(Number)) {
  const more = Number(values.more)
  const log = dayLog(n + more, 10)
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
  reader.destroy()
}
