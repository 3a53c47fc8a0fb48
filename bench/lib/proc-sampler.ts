/**
 * Samples resident memory and CPU time of processes from /proc every few seconds, from outside:
 * no IPC, no forced GC, nothing the peers have to do. Also notes the load average each time.
 */
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import type { RssSample } from './load-check.ts'

const PAGE = 4096
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on Linux). */
const TICK_MS = 10

export interface ProcSample extends RssSample {
  /** User + system CPU time so far, ms. */
  cpuMs: number
}

function read(pid: number): { rss: number; cpuMs: number } | undefined {
  try {
    const rss = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after "(comm)": state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { rss, cpuMs: (Number(f[11]) + Number(f[12])) * TICK_MS }
  } catch {
    return undefined
  }
}

export class ProcSampler {
  readonly samples: ProcSample[][]
  readonly load: { t: number; load1: number }[] = []
  readonly #pids: readonly number[]
  #timer: ReturnType<typeof setInterval> | undefined

  constructor(pids: readonly number[]) {
    this.#pids = pids
    this.samples = pids.map(() => [])
  }

  start(everyMs: number): void {
    this.sample()
    this.#timer = setInterval(() => this.sample(), everyMs)
  }

  sample(): void {
    const t = performance.timeOrigin + performance.now()
    this.#pids.forEach((pid, i) => {
      const s = read(pid)
      if (s !== undefined) this.samples[i]!.push({ t, ...s })
    })
    this.load.push({ t, load1: loadavg()[0]! })
  }

  stop(): void {
    clearInterval(this.#timer)
    this.sample()
  }

  /** CPU ms process `i` used between `from` and `to` (nearest samples inside). */
  cpuBetween(i: number, from: number, to: number): number {
    const inside = this.samples[i]!.filter((s) => s.t >= from && s.t <= to)
    if (inside.length < 2) return NaN
    return inside[inside.length - 1]!.cpuMs - inside[0]!.cpuMs
  }

  /** Sum of the latest RSS of every process, bytes. */
  totalRss(): number {
    return this.samples.reduce((a, s) => a + (s[s.length - 1]?.rss ?? 0), 0)
  }
}
