/**
 * Jepsen-style chaos runs on a site of hosts in network namespaces (test/hosts; root only):
 *
 *   npm run chaos -- --schedules 100          # 100 seeded schedules, a summary at the end
 *   npm run chaos -- --seed 1234              # replays one schedule (a failing run prints its seed)
 *   npm run chaos -- --hosts 5 --duration 30  # 5 hosts, 30 s of faults per schedule
 *
 * One site serves every schedule of a run (each writes to a room of its own and starts healed,
 * every host up with a true clock); `--seed` replays on a fresh site. Exits 1 if any schedule
 * failed: a message reported as sent missing or doubled anywhere, two peers showing different
 * orders, or histories that did not agree within 5 s of the last heal.
 */
import { parseArgs } from 'node:util'
import { loadavg } from 'node:os'
import { createSite, removeStaleSites, siteUnsupported } from '../test/hosts/site.ts'
import { Hosts, skewUnsupported, unmountStale } from '../test/hosts/hosts.ts'
import { runChaos, summarize, type ChaosResult } from '../test/hosts/chaos.ts'
import { describeSchedule } from '../test/hosts/schedule.ts'

const { values } = parseArgs({
  options: {
    schedules: { type: 'string', default: '10' },
    seed: { type: 'string' },
    base: { type: 'string' },
    hosts: { type: 'string', default: '4' },
    duration: { type: 'string', default: '20' },
    converge: { type: 'string', default: '5' },
    verbose: { type: 'boolean', default: false },
  },
})

const why = siteUnsupported() ?? skewUnsupported()
if (why !== undefined) {
  console.error(`chaos: ${why}`)
  process.exit(2)
}
const base = Number(values.base ?? Date.now() % 1_000_000)
const seeds =
  values.seed !== undefined
    ? [Number(values.seed)]
    : Array.from({ length: Number(values.schedules) }, (_, k) => base + k)
const size = Number(values.hosts)
const log = (s: string): void => console.log(s)
const stale = [...removeStaleSites(), ...unmountStale()]
if (stale.length > 0) log(`removed what an earlier run left: ${stale.join(', ')}`)

const site = createSite(size, { subnet: 9 })
const hosts = new Hosts(site)
// Removes the namespaces even when the run is interrupted.
const onSignal = (): void => {
  void hosts.stop().finally(() => {
    site.remove()
    process.exit(130)
  })
}
process.once('SIGINT', onSignal)
process.once('SIGTERM', onSignal)
const results: ChaosResult[] = []
/** Agreement slower than this prints its trace even when within the bound. */
const SLOW_MS = 2_500
try {
  const t0 = Date.now()
  // Every schedule writes ~1,000 messages to a room of its own that every host keeps: 64 MiB
  // filled up after ~90 schedules (the full-disk refusals then counted as lost). 1 GiB of tmpfs
  // holds far more than 100 schedules and costs memory only as it fills.
  await hosts.start({ diskMb: 1024 })
  log(`${size} hosts up in ${Date.now() - t0} ms (load ${loadavg()[0]!.toFixed(1)})`)
  for (const seed of seeds) {
    const r = await runChaos(hosts, seed, {
      durationMs: Number(values.duration) * 1000,
      convergeMs: Number(values.converge) * 1000,
      ...(values.verbose ? { log } : {}),
    })
    results.push(r)
    log(`${summarize(r)} (load ${loadavg()[0]!.toFixed(1)})`)
    // A slow agreement shows how it went: what each host lacked, check by check.
    if (!r.ok || (r.convergedMs ?? Infinity) > SLOW_MS)
      log(`after the last heal:\n  ${r.trace.join('\n  ')}`)
    if (!r.ok) {
      log(`schedule of seed ${seed}:\n${describeSchedule(r.steps)}`)
      log(`replay: npm run chaos -- --seed ${seed} --hosts ${size} --duration ${values.duration}`)
    }
  }
} finally {
  try {
    await hosts.stop()
  } finally {
    site.remove()
  }
}

const failed = results.filter((r) => !r.ok)
const conv = results
  .map((r) => r.convergedMs)
  .filter((x): x is number => x !== undefined)
  .sort((a, b) => a - b)
const q = (p: number): number | undefined =>
  conv[Math.min(conv.length - 1, Math.floor(p * conv.length))]
const sum = (f: (r: ChaosResult) => number): number => results.reduce((a, r) => a + f(r), 0)
log(
  [
    '',
    `chaos: ${results.length} schedules on ${size} hosts, ${failed.length} failed`,
    `  reported sent ${sum((r) => r.verdict.acknowledged)} (queued ${sum((r) => r.sends.queued)}), ` +
      `lost ${sum((r) => r.verdict.lost)}, duplicates ${sum((r) => r.verdict.duplicates)}, ` +
      `order differs in ${results.filter((r) => !r.verdict.sameOrder).length}, kills ${sum((r) => r.kills)}`,
    `  convergence after the last heal: p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${conv.at(-1)} ms` +
      ` (${results.length - conv.length} never)`,
    ...(failed.length > 0 ? [`  failing seeds: ${failed.map((r) => r.seed).join(' ')}`] : []),
  ].join('\n'),
)
process.exit(failed.length > 0 ? 1 : 0)
