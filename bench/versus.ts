/**
 * Side by side with the servers an organisation would run instead (issue #6 §7): the same message
 * stream — 200-byte messages, each client its own process — through Prosody (XMPP group chat with
 * its message archive, SQLite), through a y-websocket relay, and through Parley (peers connected
 * to each other, as mDNS connects an office LAN), in one run:
 *
 *   1→1 latency at 100 msg/s · 1→10 latency at 50 msg/s · flood throughput (one receiver) ·
 *   a fresh client catching up a 10,000- and a 100,000-message room
 *
 * Latency is send call → the receiver has the message (Parley: verified, stored, and shown by a
 * `messages(room)` read). Ratios are "how many times better Parley is" (> 1: Parley ahead).
 *
 *   npx tsx bench/versus.ts [--quick] [--systems parley,xmpp,yws]
 */
import { fileURLToPath } from 'node:url'
import { runLive } from './lib/live.ts'
import { PeerProcess, stopAll } from './lib/proc.ts'
import { buildRoom } from './lib/room-fixture.ts'
import { distribution, round } from './lib/stats.ts'
import { cpuPressure, machine, writeResults } from './lib/report.ts'
import { throughputBench } from './throughput.ts'
import { catchupRuns } from './catchup.ts'
import { startProsody, startYws, type Server } from './versus/servers.ts'
import type { VersusCommands } from './versus/protocol.ts'

const CLIENT = fileURLToPath(new URL('./versus/client.ts', import.meta.url))
const GRACE_MS = 5_000
const BYTES = 200

type Client = PeerProcess<VersusCommands>
type System = 'xmpp' | 'yws'

/** One figure per system; `lower`: smaller is better. */
interface Measure {
  name: string
  unit: string
  lower: boolean
  values: Partial<Record<'parley' | System, number>>
}

const spawnClients = (n: number, prefix: string): Client[] =>
  Array.from({ length: n }, (_, i) =>
    PeerProcess.spawn<VersusCommands>({ name: `${prefix}${i}`, script: CLIENT }),
  )

/** Paced sends from one client to `receivers` others through `server`: latency p50/p99 and loss. */
async function centralLive(
  sys: System,
  server: Server,
  receivers: number,
  rate: number,
  seconds: number,
): Promise<{ p50: number; p99: number; lost: number; expected: number }> {
  const room = `live-${receivers}-${Date.now()}`
  const procs = spawnClients(receivers + 1, `${sys}-live-`)
  try {
    await Promise.all(
      procs.map((p, i) =>
        p.call('connect', { system: sys, port: server.port, room, nick: `c${i}` }, 90_000),
      ),
    )
    const [sender, ...rx] = procs as [Client, ...Client[]]
    await Promise.all(rx.map((r) => r.call('watch', {})))
    const warm = rate // one second not counted
    const count = warm + Math.round(seconds * rate)
    const { records } = await sender.call(
      'send',
      { count, rate, bytes: BYTES },
      (count / rate) * 1000 + 60_000,
    )
    await Promise.all(rx.map((r) => r.call('waitCount', { n: count, timeoutMs: GRACE_MS })))
    const all: number[] = []
    let lost = 0
    for (const r of rx) {
      const shown = new Map((await r.call('received', {})).shown)
      for (const rec of records.slice(warm)) {
        const t = shown.get(rec.seq)
        if (t === undefined) lost++
        else all.push(t - rec.tCall)
      }
    }
    const d = distribution(all)
    return { p50: d.p50, p99: d.p99, lost, expected: (count - warm) * receivers }
  } finally {
    await stopAll(procs)
  }
}

/** One client floods `count` messages; another counts them in. Messages per second delivered. */
async function centralFlood(sys: System, server: Server, count: number): Promise<number> {
  const room = `flood-${Date.now()}`
  const [sender, receiver] = spawnClients(2, `${sys}-flood-`) as [Client, Client]
  try {
    for (const [p, nick] of [
      [receiver, 'rx'],
      [sender, 'tx'],
    ] as const)
      await p.call('connect', { system: sys, port: server.port, room, nick }, 90_000)
    await receiver.call('watch', {})
    const { tStart } = await sender.call('flood', { count, bytes: BYTES }, 300_000)
    const got = await receiver.call('waitCount', { n: count, timeoutMs: 240_000 }, 300_000)
    if (got.count < count) throw new Error(`${sys} flood: ${got.count} of ${count} arrived`)
    return count / ((got.t - tStart) / 1000)
  } finally {
    await stopAll([sender, receiver])
  }
}

/** A writer fills a room with `count` messages; a fresh client then catches up. Times in ms. */
async function centralCatchup(
  sys: System,
  server: Server,
  count: number,
): Promise<{ newest50: number; all: number }> {
  const room = `history-${count}-${Date.now()}`
  const [writer, watcher, joiner] = spawnClients(3, `${sys}-catchup-`) as [Client, Client, Client]
  try {
    const ep = { system: sys, port: server.port, room }
    await watcher.call('connect', { ...ep, nick: 'watcher' }, 90_000)
    await writer.call('connect', { ...ep, nick: 'writer' }, 90_000)
    await watcher.call('watch', {})
    await writer.call('flood', { count, bytes: BYTES }, 600_000)
    // Every message has passed the server (and is archived) once the watcher holds it.
    const held = await watcher.call('waitCount', { n: count, timeoutMs: 300_000 }, 320_000)
    if (held.count < count) throw new Error(`${sys}: only ${held.count} of ${count} arrived`)
    const r = await joiner.call(
      'catchup',
      { ...ep, nick: 'joiner', n: count, timeoutMs: 300_000 },
      320_000,
    )
    if (r.count < count) throw new Error(`${sys} catch-up held ${r.count} of ${count}`)
    return { newest50: r.newest50, all: r.all }
  } finally {
    await stopAll([writer, watcher, joiner])
  }
}

export async function versus(
  quick: boolean,
  systems: readonly ('parley' | System)[] = ['parley', 'xmpp', 'yws'],
): Promise<Measure[]> {
  const seconds = quick ? 3 : 10
  const floodCount = quick ? 5_000 : 20_000
  const sizes = quick ? [10_000] : [10_000, 100_000]
  const m = (name: string, unit: string, lower: boolean): Measure => ({
    name,
    unit,
    lower,
    values: {},
  })
  const rows = {
    one50: m('1→1 @100/s: p50', 'ms', true),
    one99: m('1→1 @100/s: p99', 'ms', true),
    oneLost: m('1→1 @100/s: lost', 'msgs', true),
    ten50: m('1→10 @50/s: p50', 'ms', true),
    ten99: m('1→10 @50/s: p99', 'ms', true),
    tenLost: m('1→10 @50/s: lost', 'msgs', true),
    flood: m('flood, 1 receiver', 'msg/s', false),
  }
  const catchups = sizes.flatMap((n) => [
    m(`catch-up ${n.toLocaleString('en')}: newest 50`, 'ms', true),
    m(`catch-up ${n.toLocaleString('en')}: all`, 'ms', true),
  ])
  const live = { rate: 0, receivers: 0, seconds, warmupSeconds: 1, bytes: BYTES, mesh: true }

  if (systems.includes('parley')) await parley()
  for (const [sys, start] of [
    ['xmpp', startProsody],
    ['yws', startYws],
  ] as const) {
    if (systems.includes(sys)) await central(sys, start)
  }
  return [...Object.values(rows), ...catchups]

  async function parley(): Promise<void> {
    console.error('parley …')
    const p1 = await runLive({ ...live, kind: 'messenger', receivers: 1, rate: 100 })
    rows.one50.values.parley = p1.latency.p50
    rows.one99.values.parley = p1.latency.p99
    rows.oneLost.values.parley = p1.lost
    const p10 = await runLive({ ...live, kind: 'messenger', receivers: 10, rate: 50 })
    rows.ten50.values.parley = p10.latency.p50
    rows.ten99.values.parley = p10.latency.p99
    rows.tenLost.values.parley = p10.lost
    const t = await throughputBench({ quick })
    const td = t.details as { count: number; received: number }
    rows.flood.values.parley = td.count / td.received
    for (const [k, n] of sizes.entries()) {
      // a watcher connected while the room is written, as the servers' is (centralCatchup)
      const fx = await buildRoom(n, { watcher: true })
      try {
        const [r] = await catchupRuns(fx, 1)
        catchups[2 * k]!.values.parley = r!.newest50
        catchups[2 * k + 1]!.values.parley = r!.all
      } finally {
        await fx.close()
      }
    }
  }

  async function central(sys: System, start: () => Promise<Server>): Promise<void> {
    console.error(`${sys} …`)
    const server = await start()
    try {
      const one = await centralLive(sys, server, 1, 100, seconds)
      rows.one50.values[sys] = one.p50
      rows.one99.values[sys] = one.p99
      rows.oneLost.values[sys] = one.lost
      const ten = await centralLive(sys, server, 10, 50, seconds)
      rows.ten50.values[sys] = ten.p50
      rows.ten99.values[sys] = ten.p99
      rows.tenLost.values[sys] = ten.lost
      rows.flood.values[sys] = await centralFlood(sys, server, floodCount)
      for (const [k, n] of sizes.entries()) {
        const c = await centralCatchup(sys, server, n)
        catchups[2 * k]!.values[sys] = c.newest50
        catchups[2 * k + 1]!.values[sys] = c.all
      }
    } finally {
      await server.stop()
    }
  }
}

/** How many times better Parley is than `other` on this row (> 1: ahead). */
function ratio(x: Measure, other: number | undefined): number | undefined {
  const p = x.values.parley
  if (p === undefined || other === undefined) return undefined
  if (x.unit === 'msgs') return undefined // loss: compared as counts
  return x.lower ? other / p : p / other
}

export function formatVersus(ms: readonly Measure[]): string {
  const f = (v: number | undefined): string => (v === undefined ? '—' : String(round(v)))
  const lines = [
    '| measure | Parley | Prosody (XMPP) | y-websocket | Prosody ÷ Parley | y-websocket ÷ Parley |',
    '|---|---|---|---|---|---|',
  ]
  for (const x of ms) {
    const r = (o: number | undefined): string => {
      const v = ratio(x, o)
      return v === undefined ? '—' : `${v.toFixed(2)}×${v >= 1 ? '' : ' (behind)'}`
    }
    lines.push(
      `| ${x.name} (${x.unit}) | ${f(x.values.parley)} | ${f(x.values.xmpp)} | ${f(x.values.yws)} | ${r(x.values.xmpp)} | ${r(x.values.yws)} |`,
    )
  }
  return lines.join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2)
  const quick = argv.includes('--quick')
  const load0 = (await import('node:os')).loadavg()[0]!
  const p0 = cpuPressure()
  const t0 = performance.now()
  const i = argv.indexOf('--systems')
  const systems = i >= 0 ? (argv[i + 1]!.split(',') as ('parley' | System)[]) : undefined
  const ms = await versus(quick, systems)
  console.log(formatVersus(ms))
  const load1 = (await import('node:os')).loadavg()[0]!
  console.log(
    `load ${load0.toFixed(2)} → ${load1.toFixed(2)}; machine ${JSON.stringify(machine())}`,
  )
  const rows = ms.flatMap((x) =>
    Object.entries(x.values).map(([sys, value]) => ({
      name: `${x.name} [${sys}]`,
      value,
      unit: x.unit,
    })),
  )
  const result = {
    bench: 'versus',
    load: [load0, load1] as [number, number],
    cpuPressure: [p0, cpuPressure()] as [number, number],
    seconds: (performance.now() - t0) / 1000,
    rows,
    details: ms,
  }
  console.log(await writeResults(`versus${quick ? '-quick' : ''}.json`, [result], argv))
}
