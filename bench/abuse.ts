/**
 * Abuse (issue #6 §5): honest 1→1 latency in an organisation while it is attacked. Four honest
 * org peers (an office Node peer A and members B, C, D, fully connected; SQLite, Node crypto, TCP
 * on 127.0.0.1, pnet + admission, mDNS off) run in this process; the attackers run in another
 * (`bench/abuse-attacker.ts`). Phases, each `--seconds` long (default 10) while B→C, C→D, D→B each
 * post 10 msg/s: quiet; a member (with a certificate) flooding 10,000 push frames/s at every
 * honest peer; the same member subscribing to 100,000 topics; 20 sybils that know the network key
 * but hold no certificate, dialling and publishing. Latency: `post()` called → `applied` on the
 * receiver (its trace). Reports p50/p99 per phase and the ratio to quiet, time from the flood's
 * start to the first frame dropped on each honest peer, what the hub recorded of 100,000
 * subscriptions, its heap and CPU, and how many sybils were admitted.
 *
 *   npx tsx bench/abuse.ts [--quick] [--seconds=N]
 */
import '../src/node/polyfill.ts'
import { fork, type ChildProcess } from 'node:child_process'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import type { AttackerCommand } from './abuse-attacker.ts'
import { distribution, mib, round } from './lib/stats.ts'
import {
  formatTable,
  parseArgs,
  timed,
  type BenchOptions,
  type BenchResult,
  type Row,
} from './lib/report.ts'
import { startAbuseOrg, type AbuseOrg } from './lib/abuse-org.ts'

const ROOM = 'abuse'
const RATE = 10 // honest messages/s per sender
const now = (): number => performance.timeOrigin + performance.now()
const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

class Attacker {
  readonly #child: ChildProcess
  #id = 0
  readonly #pending = new Map<number, (r: { result?: unknown; error?: string }) => void>()
  constructor() {
    this.#child = fork(fileURLToPath(new URL('./abuse-attacker.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
    })
    this.#child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      this.#pending.get(m.id)?.(m)
      this.#pending.delete(m.id)
    })
  }
  async call<T>(c: AttackerCommand): Promise<T> {
    const id = ++this.#id
    const r = await new Promise<{ result?: unknown; error?: string }>((resolve) => {
      this.#pending.set(id, resolve)
      this.#child.send({ ...c, id })
    })
    if (r.error !== undefined) throw new Error(`attacker: ${r.error}`)
    return r.result as T
  }
  kill(): void {
    this.#child.kill('SIGKILL')
  }
}

/** Every honest message of the run, `<receiver index>:<entry key>`: all must arrive in the end. */
const everyWant: string[] = []

/** Honest traffic for `seconds`: each pair posts RATE/s; latencies (ms) of what arrived in time. */
async function honestTraffic(
  o: AbuseOrg,
  seconds: number,
): Promise<{ lat: number[]; lost: number }> {
  const [, b, c, d] = o.peers
  const pairs = [
    [b!, c!],
    [c!, d!],
    [d!, b!],
  ] as const
  const end = performance.now() + seconds * 1000
  let i = 0
  const want: string[] = []
  while (performance.now() < end) {
    const t = performance.now()
    for (const [from, to] of pairs) {
      const tCall = now()
      const posted = await from.messenger.post(ROOM, `honest ${i}`)
      const key = o.keyOf(from, posted.seq)
      o.sent.set(key, tCall)
      want.push(`${o.peerIndex(to)}:${key}`)
    }
    i++
    await tick(Math.max(0, 1000 / RATE - (performance.now() - t)))
  }
  everyWant.push(...want)
  // bounded wait for the last ones
  const grace = performance.now() + 5_000
  while (want.some((w) => !o.applied.has(w)) && performance.now() < grace) await tick(50)
  const lat: number[] = []
  for (const w of want) {
    const at = o.applied.get(w)
    if (at !== undefined) lat.push(at - o.sent.get(w.slice(w.indexOf(':') + 1))!)
  }
  return { lat, lost: want.length - lat.length }
}

export async function abuseBench(opts: BenchOptions & { seconds?: number }): Promise<BenchResult> {
  const seconds = opts.seconds ?? (opts.quick ? 5 : 10)
  return timed('abuse', async () => {
    const o = await startAbuseOrg(ROOM)
    const attacker = new Attacker()
    const rows: Row[] = []
    const details: Record<string, unknown> = {}
    try {
      const addrs = o.peers.map((p) => o.addr(p))
      const phase = async (name: string, attack: () => Promise<unknown>): Promise<void> => {
        o.stages.clear()
        const cpu0 = process.cpuUsage()
        const t0 = performance.now()
        const loop = monitorEventLoopDelay({ resolution: 10 })
        loop.enable()
        const [traffic, report] = await Promise.all([honestTraffic(o, seconds), attack()])
        loop.disable()
        const cpu = process.cpuUsage(cpu0)
        const wall = performance.now() - t0
        const dist = distribution(traffic.lat)
        details[name] = {
          ...dist,
          lost: traffic.lost,
          stages: Object.fromEntries(o.stages),
          attack: report,
          // admitted peers of each honest peer at the phase's end (3 each when no link is lost)
          links: o.peers.map((p) => p.net.peers().length),
          honestCpuMs: (cpu.user + cpu.system) / 1000,
          // the honest process's event loop: how late a 10 ms timer fired (ms)
          loopDelayMs: {
            p50: loop.percentile(50) / 1e6,
            p99: loop.percentile(99) / 1e6,
            max: loop.max / 1e6,
          },
        }
        rows.push({ name: `${name}: honest 1→1 p50`, value: dist.p50, unit: 'ms' })
        rows.push({ name: `${name}: honest 1→1 p99`, value: dist.p99, unit: 'ms' })
        if (name !== 'quiet') {
          const base = (details.quiet as { p99: number }).p99
          rows.push({
            name: `${name}: p99 ÷ quiet p99`,
            value: dist.p99 / base,
            unit: '×',
            target: { op: '<=', value: 2 },
          })
        }
        rows.push({
          name: `${name}: honest messages not applied within 5 s`,
          value: traffic.lost,
          unit: '',
        })
        rows.push({
          name: `${name}: honest peers' CPU`,
          value: ((cpu.user + cpu.system) / 1000 / wall) * 100,
          unit: '% of a core',
        })
      }

      await phase('quiet', async () => undefined)

      const member = await o.newMember()
      const { peerId } = await attacker.call<{ peerId: string }>({
        cmd: 'member',
        root: member.root,
        networkKey: member.networkKey,
        records: member.records,
        seed: member.seed,
      })
      await o.untilMember(member.key)
      const dropped0 = o.peers.map((p) => p.messenger.ingest.stats().dropped)
      let flood: { startedAt: number; sent: number; seconds: number; admitted: boolean } | undefined
      await phase('flood 10,000/s', async () => {
        // at the office peer only: what reaches the members crosses it (a relay under flood)
        flood = await attacker.call({
          cmd: 'flood',
          addrs: addrs.slice(0, 1),
          room: ROOM,
          perSecond: 10_000,
          seconds,
        })
        return flood
      })
      const throttle = o.peers.map((p) => {
        const first = p.messenger.ingest.stats().firstDropAt
        return first === undefined
          ? NaN
          : (performance.timeOrigin + first - flood!.startedAt) / 1000
      })
      details.flood = {
        ...flood,
        dropped: o.peers.map((p, i) => p.messenger.ingest.stats().dropped - dropped0[i]!),
        secondsToThrottle: throttle,
      }
      rows.push({
        name: 'flood: frames sent / s',
        value: flood!.sent / flood!.seconds,
        unit: 'frames/s',
      })
      // The honest peers the flood reached (A, and B, C, D only if A let it through).
      const reached = throttle.filter((t) => !Number.isNaN(t))
      rows.push({
        name: 'flood: slowest honest peer it reached to throttle it',
        value: reached.length === 0 ? NaN : Math.max(...reached),
        unit: 's',
        target: { op: '<=', value: 10 },
      })
      rows.push({
        name: 'flood: honest peers it reached (of 4)',
        value: reached.length,
        unit: '',
      })

      await phase('after the flood', async () => undefined)

      const heap0 = process.memoryUsage().heapUsed
      await phase('100,000 topics', () =>
        attacker.call({ cmd: 'subscribe', addrs, count: 100_000, seconds: 60 }),
      )
      const recorded = o.countSpamTopics(peerId, 100_000)
      details.topics = {
        recordedPerPeer: recorded,
        heapDeltaMiB: mib(process.memoryUsage().heapUsed - heap0),
      }
      rows.push({
        name: 'topics: subscriptions recorded (most on one honest peer)',
        value: Math.max(...recorded),
        unit: '',
      })

      await phase('20 sybils', () =>
        attacker.call({
          cmd: 'sybils',
          addrs,
          room: ROOM,
          n: 20,
          networkKey: o.networkKey,
          seconds,
        }),
      )
      const known = new Set<string>([peerId, ...o.peers.map((p) => p.net.peerId)])
      const admitted = o.peers.map((p) => p.net.peers().filter((x) => !known.has(x)).length)
      details.sybils = { admittedByHonest: admitted }
      rows.push({
        name: 'sybils: admitted by any honest peer',
        value: Math.max(...admitted),
        unit: '',
      })
      // Late is not lost: every honest message of every phase must arrive (links that a phase
      // broke come back, and the sync on reconnect brings what was missed). Bounded wait.
      const grace = performance.now() + 30_000
      const missing = (): number => everyWant.filter((w) => !o.applied.has(w)).length
      while (missing() > 0 && performance.now() < grace) await tick(100)
      details.neverApplied = missing()
      rows.push({
        name: 'honest messages of any phase not applied 30 s after the last',
        value: missing(),
        unit: '',
        target: { op: '<=', value: 0 },
      })
      details.rss = mib(process.memoryUsage().rss)
      return { rows: rows.map((r) => ({ ...r, value: round(r.value) })), details }
    } finally {
      await attacker.call({ cmd: 'stop' }).catch(() => undefined)
      attacker.kill()
      await o.stop()
    }
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2)
  const s = argv.find((a) => a.startsWith('--seconds='))
  const result = await abuseBench({
    ...parseArgs(argv),
    ...(s === undefined ? {} : { seconds: Number(s.slice('--seconds='.length)) }),
  })
  console.log(formatTable([result]))
  console.log(JSON.stringify(result.details, null, 1))
  process.exit(0)
}
