/**
 * Where a message's time goes on this peer. A {@link StageTrace} is told each stage one entry
 * passes — on the sender `write` (its batch starts), `signed`, `stored`, `published`; on a receiver
 * `gossip` (a push arrived), `verified`, `stored`, `applied` — with the entry's key
 * (`room/author hex[0..8]/seq`, {@link entryKey}). The browser records them as User Timing marks
 * (`parley:msg:<stage>`, detail = key; DevTools shows them), and `bench/browser.ts` reads them from
 * both pages to split browser → browser latency into our work and the transport's.
 */
import { hex } from './store.ts'

export type StageTrace = (stage: string, key: string) => void

/** The key a stage is recorded under: `room/<first 8 hex of the author>/<seq>`. */
export const entryKey = (room: string, author: Uint8Array, seq: number): string =>
  `${room}/${hex(author.subarray(0, 4))}/${seq}`

/** Mark names the trace uses: `parley:msg:<stage>`. */
export const STAGE_PREFIX = 'parley:msg:'

/**
 * A trace into User Timing marks. Marks stay in the page's performance timeline until cleared, so
 * after `keep` of them every `parley:msg:*` mark is cleared (also the UI's own, such as
 * `room-read`): a long session never accumulates them.
 */
export function performanceTrace(keep = 5_000): StageTrace {
  let count = 0
  return (stage, key) => {
    if (++count > keep) {
      count = 1
      const names = new Set<string>()
      for (const m of performance.getEntriesByType('mark'))
        if (m.name.startsWith(STAGE_PREFIX)) names.add(m.name)
      for (const n of names) performance.clearMarks(n)
    }
    performance.mark(STAGE_PREFIX + stage, { detail: key })
  }
}
