/**
 * The sustained-load checker (bench/load.ts), pure: what a peer holds against what was reported as
 * sent (lost, duplicated, unexpected), delivery latency per receiver from the send stamps and the
 * times receivers first held each message, and whether each process's memory stayed flat.
 */
import { distribution, type Distribution } from './stats.ts'

export interface HeldCheck {
  expected: number
  /** Messages shown, duplicates included. */
  held: number
  lost: number
  /** Extra copies of an id shown more than once. */
  duplicates: number
  /** Shown but never reported as sent. */
  extra: number
  /** A few lost ids, for the report. */
  lostSample: string[]
}

const SAMPLE = 5

/** `held` (every message id a peer shows, in order) against the ids reported as sent. */
export function checkHeld(expected: readonly string[], held: readonly string[]): HeldCheck {
  const want = new Set(expected)
  const seen = new Map<string, number>()
  for (const id of held) seen.set(id, (seen.get(id) ?? 0) + 1)
  let duplicates = 0
  let extra = 0
  for (const [id, n] of seen) {
    duplicates += n - 1
    if (!want.has(id)) extra++
  }
  const lostIds = [...want].filter((id) => !seen.has(id))
  return {
    expected: want.size,
    held: held.length,
    lost: lostIds.length,
    duplicates,
    extra,
    lostSample: lostIds.slice(0, SAMPLE),
  }
}

/** Sums checks (the sample keeps the first few lost ids). */
export function addChecks(checks: readonly HeldCheck[]): HeldCheck {
  const out: HeldCheck = { expected: 0, held: 0, lost: 0, duplicates: 0, extra: 0, lostSample: [] }
  for (const c of checks) {
    out.expected += c.expected
    out.held += c.held
    out.lost += c.lost
    out.duplicates += c.duplicates
    out.extra += c.extra
    out.lostSample.push(...c.lostSample.slice(0, SAMPLE - out.lostSample.length))
  }
  return out
}

export interface Sent {
  room: string
  /** Hex of the author's key. */
  author: string
  seq: number
  /** When `post()` was called (the stamp in the message text). */
  tCall: number
}

/** When one receiver first held each message of one author in one room: `times[k]` is seq `first + k`. */
export interface Receipts {
  room: string
  author: string
  first: number
  times: number[]
}

export interface LatencyReport {
  /** Over every (message, receiver) pair. */
  all: Distribution
  perReceiver: { peer: number; latency: Distribution }[]
  /** p50/p99 of the pairs whose message was sent in each window of the run, from `start`. */
  timeline: { fromS: number; p50: number; p99: number; n: number }[]
  /** The pairs whose message was sent in the first and in the last window before `end`. */
  firstWindow: Distribution
  lastWindow: Distribution
  /** Pairs the receiver never noted (the end check says whether it holds them). */
  unseen: number
}

const key = (room: string, author: string): string => `${room}\n${author}`

/**
 * Delivery latency: for each message and each member of its room other than its writer, the time
 * the receiver first held it minus the time it was sent.
 */
export function latencies(
  sent: readonly Sent[],
  writerOf: ReadonlyMap<string, number>,
  members: ReadonlyMap<string, readonly number[]>,
  receipts: readonly (readonly Receipts[])[],
  start: number,
  end: number,
  windowMs = 60_000,
): LatencyReport {
  const index = receipts.map((list) => new Map(list.map((r) => [key(r.room, r.author), r])))
  const per = receipts.map((): number[] => [])
  const byWindow: number[][] = []
  const all: number[] = []
  const firstWindow: number[] = []
  const lastWindow: number[] = []
  let unseen = 0
  for (const m of sent) {
    const writer = writerOf.get(m.author)
    const w = Math.max(0, Math.floor((m.tCall - start) / windowMs))
    const bucket = (byWindow[w] ??= [])
    for (const p of members.get(m.room) ?? []) {
      if (p === writer) continue
      const r = index[p]?.get(key(m.room, m.author))
      const t = r?.times[m.seq - r.first]
      if (t === undefined) {
        unseen++
        continue
      }
      const ms = t - m.tCall
      per[p]!.push(ms)
      bucket.push(ms)
      all.push(ms)
      if (m.tCall < start + windowMs) firstWindow.push(ms)
      if (m.tCall > end - windowMs) lastWindow.push(ms)
    }
  }
  return {
    all: distribution(all),
    perReceiver: per.flatMap((l, peer) =>
      l.length === 0 ? [] : [{ peer, latency: distribution(l) }],
    ),
    timeline: Array.from(byWindow, (l = [], w) => {
      const d = distribution(l)
      return { fromS: (w * windowMs) / 1000, p50: d.p50, p99: d.p99, n: d.n }
    }),
    firstWindow: distribution(firstWindow),
    lastWindow: distribution(lastWindow),
    unseen,
  }
}

export interface RssSample {
  t: number
  rss: number
}

export interface MemoryTrend {
  /** Mean RSS over the first and over the last window, bytes. */
  first: number
  last: number
  /** last / first − 1. */
  growth: number
}

/** Mean RSS in the first `windowMs` after `start` and in the last `windowMs` before `end`. */
export function memoryTrend(
  samples: readonly RssSample[],
  start: number,
  end: number,
  windowMs: number,
): MemoryTrend {
  const mean = (xs: readonly RssSample[]): number =>
    xs.length === 0 ? NaN : xs.reduce((a, s) => a + s.rss, 0) / xs.length
  const first = mean(samples.filter((s) => s.t >= start && s.t < start + windowMs))
  const last = mean(samples.filter((s) => s.t > end - windowMs && s.t <= end))
  return { first, last, growth: last / first - 1 }
}
