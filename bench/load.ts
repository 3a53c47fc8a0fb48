/**
 * Sustained load (issue #6 §6): N Parley peers, each its own process (SQLite store, libp2p over TCP
 * on 127.0.0.1, mDNS off) — or K to a process (`--per-process K`: each still its own store, keys
 * and libp2p node, talking to every other over TCP; one V8 instead of K on a machine of 2 cores), in an office of R rooms (bench/lib/load-plan.ts: a few always-on hubs
 * hold every room, every device is in `general` and a few more), writing an aggregate paced rate
 * for a duration, every message stamped with its send time. Then a bounded wait for convergence,
 * and the check: every message reported as sent is shown exactly once by every member of its room;
 * delivery latency per receiver; RSS of every process (sampled from /proc every 5 s) over the first
 * minute against the last; CPU per role; the load average (other work shares this machine).
 *
 *   npm run bench:load                       # 50 peers, 20 rooms, 200 msg/s, 300 s
 *   npm run bench:load -- --quick            # 10 peers, 30 s smoke
 *   npm run bench:load -- --peers 30 --rooms 20 --rate 100 --duration 120
 *     [--hubs 3] [--rooms-per-peer 4] [--hub-links 2] [--peer-links 1] [--seed 1]
 *     [--converge 60] [--settle 30] [--idle 15] [--per-process 1] [--tsx]
 *     [--profile DIR]   # CPU profiles of hub 0's and the first device's processes
 */
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { now, sleep } from './lib/clock.ts'
import { bundlePeer } from './lib/compiled.ts'
import { PeerProcess, PeerSlot, stopAll, TS_PEER, usePeerScript } from './lib/proc.ts'
import { GENERAL, planLoad, roomMembers, type LoadShape } from './lib/load-plan.ts'
import { ProcSampler } from './lib/proc-sampler.ts'
import { formatTable, tempDir, timed, writeResults, type BenchResult } from './lib/report.ts'
import { analyseLoad, loadRows } from './lib/load-report.ts'
import type { Commands, LoadSent, MemSample, StartResult } from './lib/protocol.ts'

export interface LoadOptions extends LoadShape {
  rate: number
  durationS: number
  convergeS: number
  /**
   * Seconds connected before the idle window: the first anti-entropy rounds, presence and room
   * announcements of 50 peers that just met are not what an idle peer costs.
   */
  settleS: number
  /** Seconds connected and idle before the first send (the CPU baseline). */
  idleS: number
  bytes: number
  /**
   * Bundle the peer with esbuild and run it on plain Node (default), or use the peer script already
   * chosen (`--tsx`: through tsx; bench/run.ts passes false and keeps its own choice).
   */
  bundle: boolean
  /** Peers per process, spread round-robin (the hubs in different processes). */
  perProcess: number
  profileDir?: string
  quick: boolean
}

const LEGEND = [
  'How to read it:',
  '- "not held": a (message, member of its room) pair the member does not show once the bounded',
  '  wait (--converge) is over; the whole history of every room of every peer is read (messages()',
  '  after loading every older period). 0 lost, 0 duplicates, 0 unexpected is the target.',
  '- latency: per receiver, from the call to post() (wall clock stamped in the text) to the moment',
  '  the receiver held the message (verified, stored, applied); the writer itself is not counted.',
  '- RSS: every peer process read from /proc every 5 s; flat = the mean of the last minute of',
  '  sends within +10 % of the first minute, for the worst process.',
  "- CPU per message held: all peers' CPU above their idle baseline / (message, member) pairs.",
  '  With the load average far above the core count, latency and convergence are the machine.',
].join('\n')

export function loadOptions(argv: readonly string[]): LoadOptions {
  const { values: v } = parseArgs({
    args: [...argv],
    strict: false,
    options: {
      quick: { type: 'boolean', default: false },
      peers: { type: 'string' },
      rooms: { type: 'string', default: '20' },
      rate: { type: 'string', default: '200' },
      duration: { type: 'string' },
      hubs: { type: 'string' },
      'rooms-per-peer': { type: 'string', default: '4' },
      'hub-links': { type: 'string', default: '2' },
      'peer-links': { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
      converge: { type: 'string', default: '60' },
      settle: { type: 'string' },
      idle: { type: 'string' },
      tsx: { type: 'boolean', default: false },
      'per-process': { type: 'string', default: '1' },
      profile: { type: 'string' },
    },
  })
  const quick = v.quick === true
  const num = (x: unknown, d: number): number => (x === undefined ? d : Number(x))
  const peers = num(v.peers, quick ? 10 : 50)
  return {
    quick,
    peers,
    rooms: num(v.rooms, 20),
    rate: num(v.rate, 200),
    durationS: num(v.duration, quick ? 30 : 300),
    hubs: num(v.hubs, Math.max(2, Math.round(peers / 16))),
    roomsPerPeer: num(v['rooms-per-peer'], 4),
    hubLinks: num(v['hub-links'], 2),
    peerLinks: num(v['peer-links'], 1),
    seed: num(v.seed, 1),
    convergeS: num(v.converge, 60),
    settleS: num(v.settle, quick ? 5 : 30),
    idleS: num(v.idle, quick ? 5 : 15),
    bytes: 200,
    bundle: v.tsx !== true,
    perProcess: Math.max(1, Math.floor(num(v['per-process'], 1))),
    ...(typeof v.profile === 'string' ? { profileDir: v.profile } : {}),
  }
}

/** Runs `fn` over `items`, `width` at a time. */
async function inBatches<T, R>(
  items: readonly T[],
  width: number,
  fn: (x: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = []
  for (let i = 0; i < items.length; i += width)
    out.push(...(await Promise.all(items.slice(i, i + width).map((x, k) => fn(x, i + k)))))
  return out
}

const log = (msg: string): void =>
  console.log(`[load ${new Date().toISOString().slice(11, 19)}] ${msg}`)

export async function loadBench(o: LoadOptions): Promise<BenchResult> {
  const label = `${o.peers} peers, ${o.rooms} rooms @${o.rate}/s × ${o.durationS} s`
  return timed(`load ${label}`, async () => {
    const plan = planLoad(o)
    const members = roomMembers(plan)
    if (o.bundle) usePeerScript(bundlePeer())
    const dirs = plan.member.map((_, i) => tempDir(`load${i}`))
    const names = dirs.map((_, i) => (plan.hubs.includes(i) ? `hub${i}` : `peer${i}`))
    // Peer i runs in process i mod P (slot i div P): the hubs, first, each in a process of its own.
    const nProcs = Math.ceil(names.length / o.perProcess)
    const procOf = names.map((_, i) => i % nProcs)
    const profiled = new Set([plan.hubs[0], plan.writers[0]].map((i) => procOf[i!]))
    const processes = Array.from({ length: nProcs }, (_, j) => {
      const slots = procOf.filter((p) => p === j).length
      return PeerProcess.spawn({
        name: slots === 1 ? names[j]! : `proc${j}`,
        slots,
        ...(o.profileDir !== undefined && profiled.has(j) ? { cpuProfDir: o.profileDir } : {}),
      })
    })
    const procs = names.map(
      (name, i) => new PeerSlot(name, processes[procOf[i]!]!, Math.floor(i / nProcs)),
    )
    const sampler = new ProcSampler(processes.map((p) => p.pid ?? 0))
    try {
      log(
        `${label}: ${plan.hubs.length} hubs (every room, no writes), ${plan.writers.length} writers at ${(o.rate / plan.writers.length).toFixed(2)} msg/s each`,
      )
      sampler.start(5_000)
      // A batch at a time, hubs first: each peer is given the addresses of the hubs it dials as
      // bootstrap peers — dialled at start and redialled when a connection is lost, as mDNS would
      // rediscover them on a LAN — and the next batch starts once this one is connected (a storm
      // of handshakes on a loaded machine times out).
      const infos: StartResult[] = []
      const isHub = (t: number): boolean => plan.hubs.includes(t)
      const start = async (i: number): Promise<void> => {
        const hubs = plan.dials[i]!.filter(isHub)
        const args = {
          dir: dirs[i]!.path,
          kind: 'messenger',
          rooms: plan.member[i]!,
          bootstrap: hubs.map((t) => infos[t]!.addr),
        } as const
        infos[i] = await procs[i]!.call('start', args, 180_000)
        // Bounded and not fatal: a device that could not reach its hubs yet keeps redialling them.
        if (hubs.length > 0)
          await procs[i]!.call(
            'waitTopic',
            { topic: GENERAL, n: hubs.length, timeoutMs: 60_000 },
            70_000,
          ).catch((err: unknown) => log(`${procs[i]!.name}: ${String(err).slice(0, 160)}`))
      }
      for (const h of plan.hubs) await start(h)
      await inBatches(plan.writers, 6, start)
      // Devices also dial a few other devices (not redialled: the hubs are what every device keeps).
      await inBatches(plan.writers, 6, async (i) => {
        for (const t of plan.dials[i]!)
          if (!isHub(t)) await procs[i]!.call('dial', { addr: infos[t]!.addr }, 120_000)
      })
      log(
        `started ${procs.length} peers in ${nProcs} processes, each connected to the peers it dials`,
      )
      let short = 0
      // Each peer waits until its connected neighbours in each of its rooms follow the room's topic.
      const neighbours = plan.member.map(() => new Set<number>())
      plan.dials.forEach((ts, i) =>
        ts.forEach((t) => (neighbours[i]!.add(t), neighbours[t]!.add(i))),
      )
      await inBatches(procs, 8, async (p, i) => {
        for (const room of plan.member[i]!) {
          const n = [...neighbours[i]!].filter((x) => plan.member[x]!.includes(room)).length
          if (n === 0) continue
          // Not fatal: the run measures what happens with the links there are.
          await p
            .call('waitTopic', { topic: room, n, timeoutMs: 30_000 }, 40_000)
            .catch((err: unknown) => {
              short++
              log(`${p.name}: ${String(err).slice(0, 160)}`)
            })
        }
      })
      await Promise.all(procs.map((p, i) => p.call('loadWatch', { rooms: plan.member[i]! })))
      log(
        `connected (${plan.dials.flat().length} dials), subscribed (${short} peer-rooms short of a neighbour); writing for ${o.durationS} s`,
      )

      // Connected and quiet: what the peers cost with no messages (presence, gossip heartbeats).
      await sleep(o.settleS * 1000)
      const idle = { from: now(), to: 0 }
      sampler.sample()
      await sleep(o.idleS * 1000)
      sampler.sample()
      idle.to = now()
      // What each process holds live (after a full GC), before the sends and once all is held:
      // RSS alone cannot tell retained history from garbage not yet collected.
      const liveMem = (): Promise<MemSample[]> =>
        inBatches(processes, 10, (p) => p.call('mem', {}, 120_000))
      const liveBefore = await liveMem()
      const writerRate = o.rate / plan.writers.length
      const startAt = now() + 1_000
      const progress = setInterval(() => {
        const l = sampler.load[sampler.load.length - 1]?.load1 ?? NaN
        log(
          `${Math.round((now() - startAt) / 1000)} s: load ${l.toFixed(1)}, RSS of all peers ${(sampler.totalRss() / 2 ** 30).toFixed(2)} GiB`,
        )
      }, 30_000)
      type SendResult = Commands['loadSend']['result']
      let sends: SendResult[]
      try {
        sends = await Promise.all(
          plan.writers.map((w, k) =>
            procs[w]!.call(
              'loadSend',
              {
                name: procs[w]!.name,
                rooms: plan.member[w]!,
                rate: writerRate,
                // Writers take turns: the aggregate is paced evenly.
                startAt: startAt + (k / plan.writers.length) * (1000 / writerRate),
                durationMs: o.durationS * 1000,
                bytes: o.bytes,
                seed: o.seed * 1000 + w,
              },
              o.durationS * 1000 + 180_000,
            ),
          ),
        )
      } finally {
        clearInterval(progress)
      }
      const sentEnd = Math.max(...sends.flatMap((s) => s.sent.map((m) => m.tCall)))
      log(
        `sent ${sends.reduce((n, s) => n + s.sent.length, 0)}; waiting (≤ ${o.convergeS} s) for every member to hold them`,
      )

      const author = new Map(plan.writers.map((w) => [w, infos[w]!.author]))
      const sent: (LoadSent & { writer: number })[] = plan.writers.flatMap((w, k) =>
        sends[k]!.sent.map((m) => ({ ...m, writer: w })),
      )
      const heads = new Map<string, { room: string; author: string; seq: number }>()
      for (const m of sent) {
        const key = `${m.room} ${m.writer}`
        const h = heads.get(key)
        if (h === undefined || h.seq < m.seq)
          heads.set(key, { room: m.room, author: author.get(m.writer)!, seq: m.seq })
      }
      const waited = await Promise.all(
        procs.map((p, i) => {
          const expect = [...heads.values()].filter(
            (h) => plan.member[i]!.includes(h.room) && h.author !== infos[i]!.author,
          )
          return p.call(
            'loadWait',
            { expect, timeoutMs: o.convergeS * 1000 },
            o.convergeS * 1000 + 60_000,
          )
        }),
      )
      const convergedAt = now()
      sampler.stop()
      const liveAfter = await liveMem()
      log(
        `converged in ${((convergedAt - sentEnd) / 1000).toFixed(1)} s after the last send; checking every peer's history`,
      )
      const ids = new Map<string, string[]>(plan.rooms.map((r) => [r, []]))
      for (const m of sent) ids.get(m.room)!.push(m.id)
      const checked = await inBatches(procs, 4, (p, i) =>
        p.call(
          'loadCheck',
          { expect: plan.member[i]!.map((room) => ({ room, ids: ids.get(room)! })) },
          300_000,
        ),
      )
      const writerOf = new Map(plan.writers.map((w) => [infos[w]!.author, w]))
      const analysis = analyseLoad({
        o,
        plan,
        members,
        sent: sent.map((m) => ({ ...m, author: author.get(m.writer)! })),
        sends,
        writerOf,
        waited,
        checked,
        disconnects: checked.reduce((n, c) => n + c.disconnects, 0),
        sampler,
        idle,
        startAt,
        sentEnd,
        convergedAt,
        names,
        procNames: processes.map((p) => p.name),
        procOf,
        live: { before: liveBefore, after: liveAfter },
      })
      return { rows: loadRows(label, analysis), details: analysis }
    } finally {
      sampler.stop()
      await stopAll(procs)
      for (const d of dirs) d.dispose()
      if (o.bundle) usePeerScript(TS_PEER)
    }
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2)
  const o = loadOptions(argv)
  const r = await loadBench(o)
  await sleep(0)
  console.log(`\n${formatTable([r])}\n`)
  console.log(LEGEND)
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const suffix = o.quick ? '-quick' : ''
  await writeResults(`load-latest${suffix}.json`, [r], argv)
  const path = await writeResults(`load-${stamp}${suffix}.json`, [r], argv)
  console.log(`results: ${path}`)
}
