/**
 * Micro-bench of what a day's document costs a Node peer as it grows: heap per message held
 * (after a full GC) and the size and encode time of its store snapshot (`encodeSnapshot`, which
 * `PeriodCache` rewrites as the day grows: src/core/period-saver.ts, SNAPSHOT_GROWTH).
 *
 *   node --expose-gc --import tsx bench/micro/period-snapshot.ts [--days 1000,3000,12000]
 */
import { parseArgs } from 'node:util'
import { PeriodDoc } from '../../src/crdt/period-doc.ts'
import { DAY, dayLog, ROOM } from './day-log.ts'

const { values } = parseArgs({ options: { days: { type: 'string', default: '1000,3000,12000' } } })
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with node --expose-gc')

for (const n of values.days.split(',').map(Number)) {
  // As many writers as the load bench's devices.
  const log = dayLog(n, 47)
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
