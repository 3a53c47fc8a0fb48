/**
 * A Chrome trace of one page load (CDP `Tracing`), and what it says about the page's main thread:
 * per span between the page's `parley:*` marks, the wall time, the thread's CPU time (the `tdur`
 * of its top-level tasks, which a loaded machine does not stretch as it stretches wall time), and
 * how many IndexedDB requests and database opens the page issued. The waits for IndexedDB are
 * what CPU time does not show: a span with little CPU and many requests waits for them.
 * Used by bench/first-paint-profile.ts (`--trace DIR`); open the saved JSON in DevTools' Performance
 * panel or https://ui.perfetto.dev for the whole picture.
 */
import { writeFileSync } from 'node:fs'
import type { CDPSession } from 'playwright-core'

const CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'blink.user_timing',
  'loading',
  'IndexedDB',
  'toplevel',
]

interface TraceEvent {
  name: string
  cat?: string
  ph: string
  pid: number
  tid: number
  ts: number
  dur?: number
  tdur?: number
  args?: { name?: string }
}

export async function startTrace(cdp: CDPSession): Promise<void> {
  await cdp.send('Tracing.start', {
    transferMode: 'ReportEvents',
    traceConfig: { includedCategories: CATEGORIES },
  })
}

/** Ends the trace started by {@link startTrace}, saves it to `file`, returns its events. */
export async function endTrace(cdp: CDPSession, file: string): Promise<TraceEvent[]> {
  const events: TraceEvent[] = []
  const collect = (e: { value: object[] }): void => void events.push(...(e.value as TraceEvent[]))
  cdp.on('Tracing.dataCollected', collect)
  const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve))
  await cdp.send('Tracing.end')
  await complete
  cdp.off('Tracing.dataCollected', collect)
  writeFileSync(file, JSON.stringify({ traceEvents: events }))
  return events
}

/** One line per span between the page's marks up to `paintedMs` (ms after navigation start). */
export function traceSpans(events: readonly TraceEvent[], paintedMs: number): string {
  const threads = new Map<string, string>()
  for (const e of events)
    if (e.ph === 'M' && e.name === 'thread_name')
      threads.set(`${e.pid}:${e.tid}`, (e.args as { name?: string }).name ?? '')
  const counts = new Map<string, number>()
  for (const e of events) {
    const k = `${e.pid}:${e.tid}`
    if (threads.get(k) === 'CrRendererMain') counts.set(k, (counts.get(k) ?? 0) + 1)
  }
  const main = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0]
  const on = events.filter((e) => `${e.pid}:${e.tid}` === main)
  const nav = Math.max(...on.filter((e) => e.name === 'navigationStart').map((e) => e.ts))
  if (main === undefined || !Number.isFinite(nav)) return '(no navigation in the trace)'
  const at = (e: TraceEvent): number => (e.ts - nav) / 1000
  const marks = on
    .filter((e) => e.cat?.includes('user_timing') === true && e.name.startsWith('parley:'))
    .filter((e) => !e.name.startsWith('parley:msg:') && at(e) >= 0 && at(e) <= paintedMs)
    .map((e) => ({ name: e.name.slice('parley:'.length), ms: at(e) }))
  const edges = [{ name: 'nav', ms: 0 }, ...marks, { name: 'painted', ms: paintedMs }].sort(
    (a, b) => a.ms - b.ms,
  )
  const tasks = on.filter((e) => e.ph === 'X' && e.name === 'ThreadControllerImpl::RunTask')
  const requests = on.filter(
    (e) => e.ph === 'X' && /^IDB(ObjectStore|Index)::\w+RequestSetup$/.test(e.name),
  )
  const opens = on.filter((e) => e.ph === 'X' && e.name === 'IDBFactory::openRequestSetup')
  const inSpan = (list: TraceEvent[], a: number, b: number): TraceEvent[] =>
    list.filter((e) => at(e) >= a && at(e) < b)
  const lines: string[] = []
  let cpu = 0
  for (let i = 1; i < edges.length; i++) {
    const a = edges[i - 1]!.ms
    const b = edges[i]!.ms
    const ms = inSpan(tasks, a, b).reduce((n, e) => n + (e.tdur ?? 0), 0) / 1000
    cpu += ms
    lines.push(
      `  → ${edges[i]!.name.padEnd(18)} wall ${(b - a).toFixed(0).padStart(4)} ms, main-thread CPU ${ms.toFixed(1).padStart(5)} ms, ` +
        `${inSpan(requests, a, b).length} IndexedDB requests, ${inSpan(opens, a, b).length} opens`,
    )
  }
  return `main-thread CPU to paint ${cpu.toFixed(0)} ms\n${lines.join('\n')}`
}
