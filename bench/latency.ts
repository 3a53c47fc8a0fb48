/**
 * Publish → shown latency between Parley peers, each its own process (issue #2 §10.1):
 * 2 peers at 100 msg/s, and 1 sender → 10 receivers at 50 msg/s with zero loss.
 *
 *   npx tsx bench/latency.ts [--quick] [--profile DIR]
 */
import { fileURLToPath } from 'node:url'
import { runLive, type LiveResult } from './lib/live.ts'
import {
  formatTable,
  parseArgs,
  timed,
  type BenchOptions,
  type BenchResult,
  type Row,
} from './lib/report.ts'

function rows(label: string, r: LiveResult, p50: number, p99: number): Row[] {
  const out: Row[] = [
    { name: `${label}: p50`, value: r.latency.p50, unit: 'ms', target: { op: '<=', value: p50 } },
    { name: `${label}: p90`, value: r.latency.p90, unit: 'ms' },
    { name: `${label}: p99`, value: r.latency.p99, unit: 'ms', target: { op: '<=', value: p99 } },
    { name: `${label}: max`, value: r.latency.max, unit: 'ms' },
    {
      name: `${label}: lost`,
      value: r.lost,
      unit: `of ${r.expected}`,
      target: { op: '=', value: 0 },
    },
  ]
  out.push({ name: `${label}: sync requests by receivers`, value: r.requests, unit: '' })
  out.push({
    name: `${label}: receivers' event-loop delay p50/p99/max`,
    value: r.loopDelay.p50,
    unit: `/ ${r.loopDelay.p99.toFixed(1)} / ${r.loopDelay.max.toFixed(0)} ms`,
  })
  out.push({
    name: `${label}: CPU ms/msg sender, receiver`,
    value: r.cpu.senderMsPerMsg,
    unit: `, ${r.cpu.receiverMsPerMsg.toFixed(2)} (${r.cpu.cores.toFixed(2)} cores)`,
  })
  if (r.stages !== undefined) {
    out.push(
      {
        name: `${label}: post→publish p50/p99`,
        value: r.stages.post.p50,
        unit: `/ ${r.stages.post.p99.toFixed(2)} ms`,
      },
      {
        name: `${label}: publish→gossip p50/p99`,
        value: r.stages.network.p50,
        unit: `/ ${r.stages.network.p99.toFixed(2)} ms`,
      },
      {
        name: `${label}: gossip→shown p50/p99`,
        value: r.stages.receive.p50,
        unit: `/ ${r.stages.receive.p99.toFixed(2)} ms`,
      },
    )
  }
  return out
}

/** 2 peers at 100 msg/s. */
export async function twoPeerLatency(opts: BenchOptions): Promise<BenchResult> {
  return timed('latency-2', async () => {
    const r = await runLive({
      kind: 'messenger',
      receivers: 1,
      rate: 100,
      seconds: opts.quick ? 3 : 10,
      warmupSeconds: 1,
      bytes: 200,
      mesh: true,
      ...(opts.profileDir === undefined ? {} : { profileDir: opts.profileDir }),
    })
    return { rows: rows('2 peers @100/s', r, 1.5, 5), details: r }
  })
}

/**
 * 1 → 10 at 50 msg/s. Full mesh is what mDNS gives an office LAN; star (receivers connected to
 * the sender only) shows what gossipsub's forwarding between receivers costs.
 */
export async function fanOutLatency(opts: BenchOptions, mesh: boolean): Promise<BenchResult> {
  return timed(`latency-1to10-${mesh ? 'mesh' : 'star'}`, async () => {
    const r = await runLive({
      kind: 'messenger',
      receivers: 10,
      rate: 50,
      seconds: opts.quick ? 3 : 10,
      warmupSeconds: 1,
      bytes: 200,
      mesh,
      ...(opts.profileDir === undefined ? {} : { profileDir: opts.profileDir }),
    })
    const out = rows(`1→10 @50/s ${mesh ? 'mesh' : 'star'}`, r, Infinity, 50)
    const noInfinity = out.map((x) => {
      if (x.target?.value !== Infinity) return x
      const { target: _, ...rest } = x
      return rest
    })
    return { rows: noInfinity, details: r }
  })
}

export async function latencyBenches(opts: BenchOptions): Promise<BenchResult[]> {
  return [
    await twoPeerLatency(opts),
    await fanOutLatency(opts, true),
    await fanOutLatency(opts, false),
  ]
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const opts = parseArgs(process.argv.slice(2))
  const results = await latencyBenches(opts)
  console.log(formatTable(results))
}
