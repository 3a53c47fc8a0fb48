/**
 * A seeded fault schedule for the chaos checker: the same seed and host count give the same steps.
 * Each step happens `atMs` after the start; the last fault ends by `durationMs`, and then everything
 * is healed (links, loss, rates) and every killed host restarted, with its clock true.
 */
import { seededPrng } from '../helpers/prng.ts'

export type Fault =
  | { op: 'partition'; groups: number[][] }
  | { op: 'isolate'; host: number }
  | { op: 'heal' }
  | {
      op: 'shape'
      host: number
      lossPct: number
      rateKbit?: number
      delayMs?: number
      jitterMs?: number
    }
  | { op: 'unshape'; host: number }
  | { op: 'kill'; host: number }
  | { op: 'restart'; host: number; skewMin: number }

export interface Step {
  atMs: number
  fault: Fault
}

export interface ScheduleInit {
  hosts: number
  /** @default 20_000 */
  durationMs?: number
}

/** The steps of schedule `seed`, in time order. */
export function makeSchedule(seed: number, init: ScheduleInit): Step[] {
  const rnd = seededPrng(seed)
  const n = init.hosts
  const duration = init.durationMs ?? 20_000
  const steps: Step[] = []
  /** Hosts killed, by when they are back (a host is killed again only after that). */
  const backAt = new Map<number, number>()
  let t = 500 + rnd.int(1_000)
  while (t < duration) {
    const r = rnd.next()
    const host = rnd.int(n)
    if (r < 0.25) {
      // A random split into two sides, each with at least one host.
      const side = Array.from({ length: n }, () => rnd.bool())
      side[rnd.int(n)] = !side[0]
      const groups = [true, false].map((s) => side.flatMap((v, i) => (v === s ? [i] : [])))
      steps.push({ atMs: t, fault: { op: 'partition', groups } })
    } else if (r < 0.35) {
      steps.push({ atMs: t, fault: { op: 'isolate', host } })
    } else if (r < 0.55) {
      steps.push({ atMs: t, fault: { op: 'heal' } })
    } else if (r < 0.75) {
      // kill -9, then back after 1–5 s; now and then with the clock 10 minutes off. At least
      // one host stays up.
      for (const [h, at] of backAt) if (at <= t) backAt.delete(h)
      if (!backAt.has(host) && backAt.size < n - 1) {
        const skewMin = rnd.pick([0, 0, 0, -10, 10])
        const back = t + 1_000 + rnd.int(4_000)
        backAt.set(host, back)
        steps.push({ atMs: t, fault: { op: 'kill', host } })
        if (back < duration) steps.push({ atMs: back, fault: { op: 'restart', host, skewMin } })
      }
    } else if (r < 0.9) {
      const slow = rnd.bool(0.4)
      const delayMs = rnd.pick([0, 0, 20, 100, 300])
      steps.push({
        atMs: t,
        fault: {
          op: 'shape',
          host,
          lossPct: rnd.pick([0, 5, 10, 20, 40]),
          ...(slow ? { rateKbit: rnd.pick([64, 256, 1024]) } : {}),
          // a fifth of the delay as jitter, no draw of its own: a seed keeps its schedule
          ...(delayMs > 0 ? { delayMs, jitterMs: delayMs / 5 } : {}),
        },
      })
    } else {
      steps.push({ atMs: t, fault: { op: 'unshape', host } })
    }
    t += 300 + rnd.int(2_200)
  }
  return steps.sort((a, b) => a.atMs - b.atMs)
}

/** One line per step, for logs and replays. */
export function describeSchedule(steps: readonly Step[]): string {
  return steps
    .map(({ atMs, fault }) => {
      const { op, ...rest } = fault
      return `${String(atMs).padStart(6)} ms ${op} ${JSON.stringify(rest)}`
    })
    .join('\n')
}
