/**
 * The figures of a sustained-load run (bench/load.ts): delivery, convergence, latency, memory per
 * process, CPU per role and the load average, and the rows of the printed table.
 */
import {
  addChecks,
  latencies,
  memoryTrend,
  type HeldCheck,
  type LatencyReport,
  type Receipts,
  type Sent,
} from './load-check.ts'
import { LOAD_SEND_GRACE_MS, type LoadPlan } from './load-plan.ts'
import type { ProcSampler } from './proc-sampler.ts'
import { distribution, mib, round, type Distribution } from './stats.ts'
import type { Row } from './report.ts'
import type { MemSample } from './protocol.ts'

/** V8 heap and external (Buffer) bytes of every process; SQLite's own memory is in neither. */
const liveBytes = (ms: readonly MemSample[]): number =>
  ms.reduce((a, m) => a + m.heapUsed + m.external, 0)
const memTotal = (ms: readonly MemSample[], f: (m: MemSample) => number): number =>
  ms.reduce((a, m) => a + f(m), 0)

/** Memory is flat when the last minute's mean RSS is within this of the first minute's. */
export const FLAT = 0.1

export interface LoadInput {
  o: { rate: number; durationS: number; convergeS: number }
  plan: LoadPlan
  members: ReadonlyMap<string, readonly number[]>
  sent: readonly Sent[]
  sends: readonly { errors: string[]; lag: number[]; skipped?: number }[]
  writerOf: ReadonlyMap<string, number>
  waited: readonly { ms: number; missing: number }[]
  checked: readonly { checks: (HeldCheck & { room: string })[]; receipts: Receipts[] }[]
  /** Connections lost (counted on both ends) from the watch to the end check. */
  disconnects: number
  sampler: ProcSampler
  /** Connected, nothing sent: the CPU baseline. */
  idle: { from: number; to: number }
  startAt: number
  sentEnd: number
  convergedAt: number
  /** Every peer's name. */
  names: readonly string[]
  /** Every process's name (the sampler's order); one per peer unless peers share processes. */
  procNames: readonly string[]
  /** Every peer's process (an index into `procNames`). */
  procOf: readonly number[]
  /** Every process's memory after a full GC: before the first send, and once all was held. */
  live: { before: readonly MemSample[]; after: readonly MemSample[] }
}

export interface LoadAnalysis {
  sent: number
  achievedRate: number
  sendErrors: number
  /** Sends never started: a writer still far behind its schedule at the end (bench/peer/load.ts). */
  sendsSkipped: number
  sendErrorSample: string[]
  sendLag: Distribution
  delivery: HeldCheck
  /** Peers whose check found anything wrong, with their room checks. */
  failing: { peer: string; room: string; check: HeldCheck }[]
  convergedS: number
  disconnects: number
  notConverged: { peer: string; missing: number }[]
  latency: Omit<LatencyReport, 'perReceiver'> & {
    worstReceiverP99: number
    perReceiverP99: number[]
  }
  memory: {
    windowS: number
    /** Sum over every process, MiB. */
    firstMiB: number
    lastMiB: number
    maxGrowth: number
    maxGrowthPeer: string
    perProcess: { peer: string; firstMiB: number; lastMiB: number; growth: number }[]
    /**
     * Heap and external memory of all processes after a full GC, before the sends and once all
     * was held (MiB), and the growth per (message, member) pair held: what the history costs in
     * memory where RSS also counts garbage not yet collected.
     */
    liveBeforeMiB: number
    liveAfterMiB: number
    liveBytesPerPair: number
    /**
     * RSS and V8's heap (used or not) of all processes after the same full GCs (MiB): where the
     * RSS growth is that live memory does not explain — garbage (gone here), heap V8 keeps, or
     * memory outside the heap (SQLite, allocator).
     */
    gcRssBeforeMiB: number
    gcRssAfterMiB: number
    heapTotalBeforeMiB: number
    heapTotalAfterMiB: number
  }
  /**
   * From the first send until converged. `idleCores`: all peers connected and quiet. `msPerReceipt`:
   * all peers' CPU above that idle baseline over the (message, member) pairs: what one message
   * costs per member, its send, relaying and repair included.
   */
  cpu: {
    cores: number
    idleCores: number
    /** CPU of a hub's and a device's process; NaN when peers share processes. */
    hubMsPerS: number
    deviceMsPerS: number
    /** Peers per process. */
    peersPerProcess: number
    msPerReceipt: number
  }
  load: { mean: number; min: number; max: number }
  roomSizes: Record<string, number>
}

export function analyseLoad(x: LoadInput): LoadAnalysis {
  const runMs = x.sentEnd - x.startAt
  const windowMs = Math.min(60_000, runMs / 3)
  const checks = x.checked.flatMap((c, p) => c.checks.map((ch) => ({ peer: x.names[p]!, ch })))
  const lat = latencies(
    x.sent,
    x.writerOf,
    x.members,
    x.checked.map((c) => c.receipts),
    x.startAt,
    x.sentEnd,
    windowMs,
  )
  const perProcess = x.sampler.samples.map((s, i) => {
    const t = memoryTrend(s, x.startAt, x.sentEnd, windowMs)
    return { peer: x.procNames[i]!, firstMiB: mib(t.first), lastMiB: mib(t.last), growth: t.growth }
  })
  const worst = perProcess.reduce((a, b) => (b.growth > a.growth ? b : a))
  const cpu = x.procNames.map((_, i) => x.sampler.cpuBetween(i, x.startAt, x.convergedAt))
  const cpuMs = x.convergedAt - x.startAt
  const idleMs = x.idle.to - x.idle.from
  const idleCpu = x.procNames.map((_, i) => x.sampler.cpuBetween(i, x.idle.from, x.idle.to))
  const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0)
  const idleCores = sum(idleCpu) / idleMs
  const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
  const shared = x.procNames.length < x.names.length
  const perS = (peers: readonly number[]): number =>
    shared ? NaN : mean(peers.map((i) => cpu[x.procOf[i]!]!)) / (cpuMs / 1000)
  const loads = x.sampler.load
    .filter((l) => l.t >= x.startAt && l.t <= x.convergedAt)
    .map((l) => l.load1)
  return {
    sent: x.sent.length,
    achievedRate: (x.sent.length / runMs) * 1000,
    sendErrors: x.sends.reduce((n, s) => n + s.errors.length, 0),
    sendsSkipped: x.sends.reduce((n, s) => n + (s.skipped ?? 0), 0),
    sendErrorSample: x.sends.flatMap((s) => s.errors).slice(0, 5),
    sendLag: distribution(x.sends.flatMap((s) => s.lag)),
    delivery: addChecks(checks.map((c) => c.ch)),
    failing: checks
      .filter(({ ch }) => ch.lost + ch.duplicates + ch.extra > 0)
      .slice(0, 20)
      .map(({ peer, ch }) => ({
        peer,
        room: (ch as HeldCheck & { room: string }).room,
        check: ch,
      })),
    convergedS: (x.convergedAt - x.sentEnd) / 1000,
    disconnects: x.disconnects,
    notConverged: x.waited.flatMap((w, i) =>
      w.missing > 0 ? [{ peer: x.names[i]!, missing: w.missing }] : [],
    ),
    latency: {
      all: lat.all,
      timeline: lat.timeline,
      firstWindow: lat.firstWindow,
      lastWindow: lat.lastWindow,
      unseen: lat.unseen,
      perReceiverP99: lat.perReceiver.map((r) => round(r.latency.p99)),
      worstReceiverP99: Math.max(...lat.perReceiver.map((r) => r.latency.p99)),
    },
    memory: {
      windowS: windowMs / 1000,
      firstMiB: round(perProcess.reduce((a, p) => a + p.firstMiB, 0)),
      lastMiB: round(perProcess.reduce((a, p) => a + p.lastMiB, 0)),
      maxGrowth: worst.growth,
      maxGrowthPeer: worst.peer,
      perProcess: perProcess.map((p) => ({ ...p, growth: round(p.growth) })),
      liveBeforeMiB: mib(liveBytes(x.live.before)),
      liveAfterMiB: mib(liveBytes(x.live.after)),
      liveBytesPerPair: round(
        (liveBytes(x.live.after) - liveBytes(x.live.before)) /
          addChecks(checks.map((c) => c.ch)).expected,
      ),
      gcRssBeforeMiB: mib(memTotal(x.live.before, (m) => m.rss)),
      gcRssAfterMiB: mib(memTotal(x.live.after, (m) => m.rss)),
      heapTotalBeforeMiB: mib(memTotal(x.live.before, (m) => m.heapTotal)),
      heapTotalAfterMiB: mib(memTotal(x.live.after, (m) => m.heapTotal)),
    },
    cpu: {
      cores: sum(cpu) / cpuMs,
      idleCores,
      msPerReceipt: (sum(cpu) - idleCores * cpuMs) / (lat.all.n + lat.unseen),
      hubMsPerS: perS(x.plan.hubs),
      deviceMsPerS: perS(x.plan.writers),
      peersPerProcess: x.names.length / x.procNames.length,
    },
    load: { mean: mean(loads), min: Math.min(...loads), max: Math.max(...loads) },
    roomSizes: Object.fromEntries([...x.members].map(([r, m]) => [r, m.length])),
  }
}

export function loadRows(label: string, a: LoadAnalysis): Row[] {
  const pct = (x: number): number => round(x * 100)
  const first = a.latency.firstWindow
  const last = a.latency.lastWindow
  const w = Math.round(a.memory.windowS)
  return [
    { name: `${label}: sent`, value: a.sent, unit: `msgs, ${round(a.achievedRate)}/s achieved` },
    { name: 'send errors', value: a.sendErrors, unit: '', target: { op: '=', value: 0 } },
    {
      name: `sends not started (writer over ${LOAD_SEND_GRACE_MS / 1000} s behind at its schedule's end)`,
      value: a.sendsSkipped,
      unit: '',
      target: { op: '=', value: 0 },
    },
    {
      name: 'not held at the end (member × message, whole history checked)',
      value: a.delivery.lost,
      unit: `of ${a.delivery.expected}`,
      target: { op: '=', value: 0 },
    },
    {
      name: 'duplicates shown',
      value: a.delivery.duplicates,
      unit: '',
      target: { op: '=', value: 0 },
    },
    {
      name: 'shown but never reported sent',
      value: a.delivery.extra,
      unit: '',
      target: { op: '=', value: 0 },
    },
    {
      name: 'all members hold all, after the last send',
      value: a.convergedS,
      unit: `s (${a.notConverged.length} peers short)`,
    },
    {
      name: 'delivery latency p50 (send → held, per receiver)',
      value: a.latency.all.p50,
      unit: 'ms',
    },
    { name: 'delivery latency p99', value: a.latency.all.p99, unit: 'ms' },
    { name: 'delivery latency max', value: a.latency.all.max, unit: 'ms' },
    { name: 'delivery latency p99, worst receiver', value: a.latency.worstReceiverP99, unit: 'ms' },
    {
      name: `latency p50/p99, first ${w} s of sends`,
      value: first.p50,
      unit: `/ ${round(first.p99)} ms`,
    },
    {
      name: `latency p50/p99, last ${w} s of sends`,
      value: last.p50,
      unit: `/ ${round(last.p99)} ms`,
    },
    {
      name: `RSS growth, worst process (last ${w} s vs first ${w} s)`,
      value: pct(a.memory.maxGrowth),
      unit: `% (${a.memory.maxGrowthPeer})`,
      target: { op: '<=', value: FLAT * 100 },
    },
    {
      name: `RSS of all peers, first ${w} s → last ${w} s`,
      value: a.memory.firstMiB,
      unit: `→ ${a.memory.lastMiB} MiB`,
    },
    {
      name: 'live memory of all peers after a full GC, before sends → all held',
      value: a.memory.liveBeforeMiB,
      unit: `→ ${a.memory.liveAfterMiB} MiB (${a.memory.liveBytesPerPair} B per message held)`,
    },
    {
      name: 'RSS / V8 heap of all peers after a full GC, before sends → all held',
      value: a.memory.gcRssBeforeMiB,
      unit: `/ ${a.memory.heapTotalBeforeMiB} → ${a.memory.gcRssAfterMiB} / ${a.memory.heapTotalAfterMiB} MiB`,
    },
    {
      name: 'CPU cores used by all peers, running (idle)',
      value: a.cpu.cores,
      unit: `(${round(a.cpu.idleCores)})`,
    },
    {
      name: 'CPU per message held by a member, above idle',
      value: a.cpu.msPerReceipt,
      unit: 'ms (sends and relaying included)',
    },
    a.cpu.peersPerProcess === 1
      ? {
          name: 'CPU per hub / per device',
          value: a.cpu.hubMsPerS,
          unit: `/ ${round(a.cpu.deviceMsPerS)} ms per s`,
        }
      : {
          name: 'peers per process (each its own store, keys and libp2p node)',
          value: a.cpu.peersPerProcess,
          unit: '',
        },
    { name: 'writer pacing lag p99 (how late a send started)', value: a.sendLag.p99, unit: 'ms' },
    {
      name: 'load average (1 min) during the run',
      value: a.load.mean,
      unit: `(${round(a.load.min)}–${round(a.load.max)})`,
    },
  ]
}
