/**
 * Browser → browser latency split into stages, from the `parley:msg:*` User Timing marks both pages
 * record (src/core/trace.ts) plus the bench's own stamps: Enter keydown on the sender, the text in
 * the receiver's DOM. Both pages run on one machine, so `performance.timeOrigin + mark.startTime`
 * puts both on one clock (sub-millisecond).
 *
 *   sender     enter → write     composer, RoomState/ParleyClient/Messenger.post, the write queue
 *              write → signed    Yjs update, seal (dm), entry encode + SHA-256, head signature
 *   transport  signed → published  frame encode, gossipsub publish until it handed the frame to
 *                                  each peer's stream (on the sender's thread), while the
 *                                  sender's IndexedDB commit (signed → stored, off the path) runs
 *              published → gossip  yamux, Noise, WebRTC or WebSocket (+ the Node relay), receive
 *                                  and decode on the other page
 *   receiver   gossip → verified  head signature check (worker round trip), chain check
 *              verified → applied decrypt, Yjs apply to the loaded document, while the IndexedDB
 *                                 commit (verified → stored, off the path) runs; a document not
 *                                 loaded is applied after the commit
 *              applied → read     room change → ParleyClient → RoomState re-reads the room
 *              read → shown       Svelte renders the new row (MutationObserver stamp)
 */
import { writeFileSync } from 'node:fs'
import type { Page } from 'playwright-core'
import { distribution, round } from './stats.ts'

/**
 * [who, from, to]: `s:`/`r:` are the sender's and the receiver's stamps. The `*` stages (the two
 * IndexedDB commits) run beside the path — nothing on it waits for them — and are not among the
 * stages whose per-sample sum is the end to end.
 */
export const STAGES = [
  ['sender', 's:enter', 's:write'],
  ['sender', 's:write', 's:signed'],
  ['sender*', 's:signed', 's:stored'],
  ['transport', 's:signed', 's:published'],
  ['transport', 's:published', 'r:gossip'],
  ['receiver', 'r:gossip', 'r:verified'],
  ['receiver*', 'r:verified', 'r:stored'],
  ['receiver', 'r:verified', 'r:applied'],
  ['receiver', 'r:applied', 'r:read'],
  ['receiver', 'r:read', 'r:shown'],
] as const

const stageName = (from: string, to: string): string => `${from.slice(2)} → ${to.slice(2)}`

interface Mark {
  name: string
  t: number
  key: string
}

/** Installs the keydown / DOM stamps in a page (`window.sent`, `window.seen`: text id → epoch ms). */
export function instrument(page: Page): Promise<void> {
  // no named functions inside: tsx would wrap them in a `__name` helper the page does not have
  return page.evaluate(() => {
    const w = window as unknown as { sent: Record<string, number>; seen: Record<string, number> }
    w.sent = {}
    w.seen = {}
    document.addEventListener(
      'keydown',
      (e) => {
        const v = (e.target as HTMLTextAreaElement | null)?.value?.trim() ?? ''
        const m = /^lat (\d+)$/.exec(v)
        if (e.key === 'Enter' && !e.shiftKey && m !== null)
          w.sent[m[1]!] = performance.timeOrigin + performance.now()
      },
      true,
    )
    new MutationObserver(() => {
      for (const el of document.querySelectorAll('[data-testid=message-text]')) {
        const m = /^lat (\d+)$/.exec(el.textContent?.trim() ?? '')
        if (m !== null && !(m[1]! in w.seen))
          w.seen[m[1]!] = performance.timeOrigin + performance.now()
      }
    }).observe(document.body, { childList: true, subtree: true, characterData: true })
  })
}

/** Takes (and clears) the page's `parley:msg:*` marks, on the epoch clock. */
export function takeMarks(page: Page): Promise<Mark[]> {
  return page.evaluate(() => {
    const out: { name: string; t: number; key: string }[] = []
    const names = new Set<string>()
    for (const e of performance.getEntriesByType('mark')) {
      if (!e.name.startsWith('parley:msg:')) continue
      names.add(e.name)
      const detail = (e as PerformanceMark).detail as unknown
      out.push({
        name: e.name.slice('parley:msg:'.length),
        t: performance.timeOrigin + e.startTime,
        key: typeof detail === 'string' ? detail : '',
      })
    }
    for (const n of names) performance.clearMarks(n)
    return out
  })
}

/** One sample: stage name (`from→to`) → ms; missing stages are left out. */
export type Split = Record<string, number>

/**
 * Splits one message's delivery. `sender`/`receiver` are the marks each page recorded while it was
 * under way; `enter`/`shown` the bench's stamps.
 */
export function split(enter: number, shown: number, sender: Mark[], receiver: Mark[]): Split {
  const write = sender.find((m) => m.name === 'write' && m.t >= enter)
  if (write === undefined) return {}
  const key = write.key
  const first = (ms: Mark[], name: string, k: string | undefined): number | undefined =>
    ms
      .filter((m) => m.name === name && (k === undefined || m.key === k))
      .sort((a, b) => a.t - b.t)[0]?.t
  const room = key.split('/')[0]!
  const applied = first(receiver, 'applied', key)
  const at: Record<string, number | undefined> = {
    's:enter': enter,
    's:write': write.t,
    's:signed': first(sender, 'signed', key),
    's:stored': first(sender, 'stored', key),
    's:published': first(sender, 'published', key),
    'r:gossip': first(receiver, 'gossip', key),
    'r:verified': first(receiver, 'verified', key),
    'r:stored': first(receiver, 'stored', key),
    'r:applied': applied,
    // the first re-read of the room after the entry was applied (the UI has no entry keys)
    'r:read':
      applied === undefined
        ? undefined
        : receiver
            .filter((m) => m.name === 'room-read' && m.key === room && m.t >= applied)
            .sort((a, b) => a.t - b.t)[0]?.t,
    'r:shown': shown,
  }
  const out: Split = {}
  for (const [, from, to] of STAGES) {
    const a = at[from]
    const b = at[to]
    if (a !== undefined && b !== undefined) out[stageName(from, to)] = b - a
  }
  return out
}

export interface StageStats {
  p50: number
  p90: number
  /** Means add up (medians do not): the path's stage means sum to the end to end's mean. */
  mean: number
}

/** Median, p90 and mean of each stage over the samples, rounded (ms). */
export function breakdown(samples: readonly Split[]): Record<string, StageStats> {
  const out: Record<string, StageStats> = {}
  for (const [, from, to] of STAGES) {
    const name = stageName(from, to)
    const xs = samples.map((s) => s[name]).filter((x): x is number => x !== undefined)
    if (xs.length === 0) continue
    const d = distribution(xs)
    out[name] = { p50: round(d.p50), p90: round(d.p90), mean: round(d.mean) }
  }
  return out
}

/** The breakdown as text lines: stage, p50, p90, mean, and who it belongs to. */
export function formatBreakdown(title: string, b: Record<string, StageStats>): string {
  const lines = [`${title} (ms)     p50      p90     mean`]
  for (const [side, from, to] of STAGES) {
    const s = b[stageName(from, to)]
    if (s === undefined) continue
    const label = `  ${side.padEnd(9)} ${stageName(from, to)}`
    const cols = [s.p50, s.p90, s.mean].map((x) => String(x).padStart(7)).join('  ')
    lines.push(`${label.padEnd(38)}${cols}`)
  }
  return lines.join('\n')
}

/**
 * Starts a V8 CPU profile of `page` (Chrome DevTools Protocol); the returned stop writes it to
 * `file` (open it in DevTools, or summarise it with bench/profile-summary.ts).
 */
export async function profilePage(page: Page, file: string): Promise<() => Promise<void>> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
  await cdp.send('Profiler.start')
  return async () => {
    const { profile } = await cdp.send('Profiler.stop')
    writeFileSync(file, JSON.stringify(profile))
    await cdp.detach()
  }
}
