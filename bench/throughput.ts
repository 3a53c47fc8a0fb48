/**
 * Throughput between two Parley peer processes (issue #2 §10.2): the sender posts 200-byte
 * messages as fast as the Messenger takes them (1,024 posts pending at a time, so writes are
 * signed and stored in batches of up to 256, each batch one gossip push); the receiver counts a
 * message delivered once it is verified, stored and applied. Rate = messages / (last delivered −
 * first post).
 *
 *   npx tsx bench/throughput.ts [--quick]
 */
import { fileURLToPath } from 'node:url'
import { PeerProcess, stopAll } from './lib/proc.ts'
import { round } from './lib/stats.ts'
import type { Timing } from './lib/instrument.ts'
import {
  formatTable,
  parseArgs,
  tempDir,
  timed,
  type BenchOptions,
  type BenchResult,
  type Row,
} from './lib/report.ts'

const ROOM = 'bench-flood'

export async function throughputBench(opts: BenchOptions): Promise<BenchResult> {
  const count = opts.quick ? 5_000 : 20_000
  return timed('throughput', async () => {
    const dirs = [tempDir('flood-a'), tempDir('flood-b')]
    const prof = opts.profileDir === undefined ? {} : { cpuProfDir: opts.profileDir }
    const procs = [
      PeerProcess.spawn({ name: 'flood-sender', ...prof }),
      PeerProcess.spawn({ name: 'flood-receiver', ...prof }),
    ] as const
    const [sender, receiver] = procs
    try {
      const [a] = await Promise.all(
        procs.map((p, i) =>
          p.call('start', { dir: dirs[i]!.path, kind: 'messenger', rooms: [ROOM] }),
        ),
      )
      await receiver.call('dial', { addr: a!.addr })
      await sender.call('waitTopic', { topic: ROOM, n: 1, timeoutMs: 20_000 })
      await Promise.all(procs.map((p) => p.call('timings', {})))
      const cpu0 = await Promise.all(procs.map((p) => p.call('cpu', {})))
      // seq = count + 1: the room's meta entry comes first.
      const tracked = receiver.call(
        'track',
        { room: ROOM, author: a!.author, seq: count + 1, shown: count, timeoutMs: 120_000 },
        130_000,
      )
      const flooded = await sender.call(
        'flood',
        { room: ROOM, count, inflight: 1024, bytes: 200 },
        130_000,
      )
      const got = await tracked
      const cpu1 = await Promise.all(procs.map((p) => p.call('cpu', {})))
      const [senderTimings, receiverTimings] = await Promise.all(
        procs.map((p) => p.call('timings', {})),
      )
      const usPerMsg = (t: [string, Timing][] | undefined): Record<string, number> =>
        Object.fromEntries((t ?? []).map(([k, v]) => [k, round((v.ms / count) * 1000)]))
      const cpuUsPerMsg = cpu1.map((c, i) => round(((c.ms - cpu0[i]!.ms) / count) * 1000))
      const seconds = (got.tShown - flooded.tStart) / 1000
      const received = (got.tStored - flooded.tStart) / 1000
      const stored = (flooded.tStored - flooded.tStart) / 1000
      const rows: Row[] = [
        {
          name: '2 peers flood: delivered (verified+stored)',
          value: count / received,
          unit: 'msg/s',
          target: { op: '>=', value: 10_000 } as const,
        },
        { name: '2 peers flood: delivered and shown', value: count / seconds, unit: 'msg/s' },
        { name: '2 peers flood: stored at sender', value: count / stored, unit: 'msg/s' },
        {
          name: '2 peers flood: shown at receiver (5 s later)',
          value: got.shown,
          unit: `of ${count}`,
          target: { op: '=', value: count } as const,
        },
      ]
      rows.push({
        name: '2 peers flood: CPU µs/msg sender',
        value: cpuUsPerMsg[0]!,
        unit: `, receiver ${cpuUsPerMsg[1]}`,
      })
      const timings = { sender: usPerMsg(senderTimings), receiver: usPerMsg(receiverTimings) }
      const details = { count, seconds, received, stored, shown: got.shown, bytes: got.bytes }
      return { rows, details: { ...details, cpuUsPerMsg, timings } }
    } finally {
      await stopAll(procs)
      for (const d of dirs) d.dispose()
    }
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(formatTable([await throughputBench(parseArgs(process.argv.slice(2)))]))
}
