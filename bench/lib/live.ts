/**
 * The live-delivery scenario shared by the latency benches: one sender process paces messages to
 * N receiver processes (all connected to each other, as mDNS would connect an office LAN), and
 * every receiver notes when each message becomes visible. Per message and receiver:
 *
 *   tCall (sender calls post)  →  published (push frame handed to gossipsub, sender)
 *     →  delivered (gossip callback, receiver)  →  shown (a messages(room) read has it, receiver)
 */
import { sleep } from './clock.ts'
import { PeerProcess, stopAll } from './proc.ts'
import { tempDir } from './report.ts'
import { distribution, round, type Distribution } from './stats.ts'
import type { Timing } from './instrument.ts'
import type { SendRecord, WatchReport } from './protocol.ts'

export interface LiveScenario {
  kind: 'messenger' | 'net'
  receivers: number
  /** Messages per second. */
  rate: number
  /** Measured seconds, after `warmupSeconds` not counted. */
  seconds: number
  warmupSeconds: number
  bytes: number
  /** Every receiver also connects to every other (true), or only to the sender. */
  mesh: boolean
  profileDir?: string
}

export interface LiveResult {
  sent: number
  /** Measured messages × receivers. */
  expected: number
  /** Never shown within the grace period after the last send. */
  lost: number
  /** Shown without ever arriving by gossip (repaired by a pull). */
  repaired: number
  latency: Distribution
  /** Per stage (messenger only). */
  stages?: { post: Distribution; network: Distribution; receive: Distribution }
  reads?: Distribution
  perReceiverP99: number[]
  /**
   * CPU time per message sent (warm-up included) in the sender and, on average, in one receiver,
   * and the cores all peer processes kept busy: evidence that does not depend on other load.
   */
  cpu: { senderMsPerMsg: number; receiverMsPerMsg: number; cores: number }
  /** µs per message spent in the store, crypto and signer: sender, and receiver 1. */
  timings: { sender: Record<string, number>; receiver: Record<string, number> }
  /** Sync requests the receivers sent during the run, in all (mostly pulls after a gossip gap). */
  requests: number
  /** All receivers' requests by frame type (their whole life, set-up included). */
  requestTypes: Record<string, number>
  /** Receiver 1's median latency per tenth of the run, ms: shows whether a backlog builds up. */
  timeline: number[]
  /** Event-loop delay of the receivers while watching: medians of their p50 and p99, the worst max, ms. */
  loopDelay: { p50: number; p99: number; max: number }
}

const ROOM = 'bench-live'
/** How long receivers may take to show the last messages after the last send. */
const GRACE_MS = 5_000

export async function runLive(s: LiveScenario): Promise<LiveResult> {
  const dirs = Array.from({ length: s.receivers + 1 }, (_, i) => tempDir(`live${i}`))
  const procs = dirs.map((_, i) =>
    PeerProcess.spawn({
      name: i === 0 ? `sender` : `receiver${i}`,
      ...(s.profileDir === undefined ? {} : { cpuProfDir: s.profileDir }),
    }),
  )
  const topic = s.kind === 'net' ? `bench/${process.pid}/${Date.now()}` : ROOM
  try {
    const infos = await Promise.all(
      procs.map((p, i) =>
        p.call('start', {
          dir: dirs[i]!.path,
          kind: s.kind,
          rooms: s.kind === 'messenger' ? [ROOM] : [],
          recordTopics: s.kind === 'messenger' ? [ROOM] : [],
        }),
      ),
    )
    const [sender, ...receivers] = procs as [PeerProcess, ...PeerProcess[]]
    // Receiver i dials the sender and (mesh) every receiver before it.
    for (let i = 1; i < procs.length; i++) {
      const targets = s.mesh ? infos.slice(0, i) : [infos[0]!]
      for (const t of targets) await procs[i]!.call('dial', { addr: t.addr })
    }
    await Promise.all(receivers.map((r) => r.call('watch', { room: topic })))
    await sender.call('waitTopic', { topic, n: s.receivers, timeoutMs: 20_000 })
    const warm = Math.round(s.warmupSeconds * s.rate)
    const count = warm + Math.round(s.seconds * s.rate)
    const sendTimeout = (count / s.rate) * 1000 + 60_000
    await Promise.all(procs.map((p) => p.call('timings', {})))
    const cpu0 = await Promise.all(procs.map((p) => p.call('cpu', {})))
    const wall0 = performance.now()
    const { records } = await sender.call(
      'send',
      { room: topic, count, rate: s.rate, bytes: s.bytes },
      sendTimeout,
    )
    records.sort((a, b) => a.seq - b.seq)
    const measured = records.slice(warm)
    const last = records[records.length - 1]!.seq
    if (s.kind === 'messenger') {
      const author = infos[0]!.author
      await Promise.all(
        receivers.map((r) =>
          r
            .call(
              'track',
              { room: ROOM, author, seq: last, shown: 0, timeoutMs: GRACE_MS },
              GRACE_MS + 5_000,
            )
            .catch(() => undefined),
        ),
      )
      await sleep(100) // the read that follows the last change
    } else {
      await sleep(Math.min(GRACE_MS, 1_000))
    }
    const cpu1 = await Promise.all(procs.map((p) => p.call('cpu', {})))
    const [senderTimings, receiverTimings] = await Promise.all([
      sender.call('timings', {}),
      receivers[0]!.call('timings', {}),
    ])
    const wallMs = performance.now() - wall0
    const cpuMs = cpu1.map((c, i) => c.ms - cpu0[i]!.ms)
    const cpu = {
      senderMsPerMsg: cpuMs[0]! / count,
      receiverMsPerMsg: cpuMs.slice(1).reduce((a, b) => a + b, 0) / s.receivers / count,
      cores: cpuMs.reduce((a, b) => a + b, 0) / wallMs,
    }
    const reports = await Promise.all(receivers.map((r) => r.call('report', { room: topic })))
    const sent = s.kind === 'messenger' ? await sender.call('report', { room: topic }) : undefined
    const perMsg = (t: [string, Timing][]): Record<string, number> =>
      Object.fromEntries(t.map(([k, v]) => [k, round((v.ms / count) * 1000)]))
    const timings = { sender: perMsg(senderTimings), receiver: perMsg(receiverTimings) }
    return { ...analyse(measured, reports, sent), cpu, timings }
  } finally {
    await stopAll(procs)
    for (const d of dirs) d.dispose()
  }
}

function sumTypes(all: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const t of all) for (const [k, n] of Object.entries(t)) out[k] = (out[k] ?? 0) + n
  return out
}

function analyse(
  measured: readonly SendRecord[],
  reports: readonly WatchReport[],
  sent: WatchReport | undefined,
): Omit<LiveResult, 'cpu' | 'timings'> {
  const published = new Map(sent?.published ?? [])
  const all: number[] = []
  const post: number[] = []
  const network: number[] = []
  const receive: number[] = []
  const reads: number[] = []
  const perReceiverP99: number[] = []
  const timeline: number[] = []
  let lost = 0
  let repaired = 0
  for (const rep of reports) {
    const shown = new Map(rep.shown)
    const delivered = new Map(rep.delivered)
    const mine: number[] = []
    for (const r of measured) {
      const t = shown.get(r.seq)
      if (t === undefined) {
        lost++
        continue
      }
      mine.push(t - r.tCall)
      const pub = published.get(r.seq)
      const del = delivered.get(r.seq)
      if (sent !== undefined && del === undefined) repaired++
      if (pub !== undefined && del !== undefined) {
        post.push(pub - r.tCall)
        network.push(del - pub)
        receive.push(t - del)
      }
    }
    if (timeline.length === 0) {
      const tenth = Math.max(1, Math.ceil(mine.length / 10))
      for (let i = 0; i < mine.length; i += tenth)
        timeline.push(distribution(mine.slice(i, i + tenth)).p50)
    }
    all.push(...mine)
    reads.push(...rep.reads)
    perReceiverP99.push(distribution(mine).p99)
  }
  return {
    sent: measured.length,
    expected: measured.length * reports.length,
    lost,
    repaired,
    latency: distribution(all),
    ...(sent === undefined
      ? {}
      : {
          stages: {
            post: distribution(post),
            network: distribution(network),
            receive: distribution(receive),
          },
          reads: distribution(reads),
        }),
    perReceiverP99,
    timeline,
    loopDelay: {
      p50: distribution(reports.map((r) => r.loopDelay.p50)).p50,
      p99: distribution(reports.map((r) => r.loopDelay.p99)).p50,
      max: Math.max(0, ...reports.map((r) => r.loopDelay.max)),
    },
    requests: reports.reduce((n, r) => n + r.requestsOut, 0),
    requestTypes: sumTypes(reports.map((r) => r.requestTypes)),
  }
}
