/**
 * The floor under Parley's delivery latency: PeerNet alone (libp2p TCP + Noise + yamux +
 * gossipsub, no signing, storage or Yjs), publish → deliver of 200-byte payloads between peer
 * processes. Moved here from test/net/latency.test.ts (speed is measured by benchmarks, never by
 * timed assertions in tests); this version runs each peer in its own process.
 *
 *   npx tsx bench/net-latency.ts [--quick]
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

function rows(label: string, r: LiveResult): Row[] {
  return [
    { name: `${label}: p50`, value: r.latency.p50, unit: 'ms' },
    { name: `${label}: p90`, value: r.latency.p90, unit: 'ms' },
    { name: `${label}: p99`, value: r.latency.p99, unit: 'ms' },
    { name: `${label}: lost`, value: r.lost, unit: `of ${r.expected}` },
    {
      name: `${label}: CPU ms/msg sender, receiver`,
      value: r.cpu.senderMsPerMsg,
      unit: `, ${r.cpu.receiverMsPerMsg.toFixed(2)} (${r.cpu.cores.toFixed(2)} cores)`,
    },
  ]
}

const base = (opts: BenchOptions) =>
  ({ kind: 'net', seconds: opts.quick ? 3 : 10, warmupSeconds: 1, bytes: 200, mesh: true }) as const

export async function twoPeerNetLatency(opts: BenchOptions): Promise<BenchResult> {
  return timed('net-latency-2', async () => {
    const r = await runLive({ ...base(opts), receivers: 1, rate: 100 })
    return { rows: rows('net only, 2 peers @100/s', r), details: r }
  })
}

export async function fanOutNetLatency(opts: BenchOptions): Promise<BenchResult> {
  return timed('net-latency-1to10', async () => {
    const r = await runLive({ ...base(opts), receivers: 10, rate: 50 })
    return { rows: rows('net only, 1→10 @50/s', r), details: r }
  })
}

export async function netLatencyBenches(opts: BenchOptions): Promise<BenchResult[]> {
  return [await twoPeerNetLatency(opts), await fanOutNetLatency(opts)]
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(formatTable(await netLatencyBenches(parseArgs(process.argv.slice(2)))))
}
