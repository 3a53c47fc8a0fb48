/**
 * Catch-up of a late joiner (issue #2 §10.3): an author process holds a room of 10,000 or 100,000
 * messages spread over 200 days; a fresh peer process joins the room, dials the author, and acts
 * like the UI (re-reads `messages(room)` on every change, loads older days while it shows less
 * than a page). Timed from just before the dial: the newest 50 shown, and every entry verified
 * and stored. Then (timed separately) every older day loaded into memory, and the count checked.
 * Bytes are the sync protocol's request/response frames counted at the joiner's PeerNet.
 *
 *   npx tsx bench/catchup.ts [--quick] [--runs N] [--profile DIR]
 *
 * `--runs N`: N catch-ups of each room (default 1 with --quick, else 3); the rows give medians.
 */
import { fileURLToPath } from 'node:url'
import { PeerProcess } from './lib/proc.ts'
import { buildRoom, type RoomFixture } from './lib/room-fixture.ts'
import {
  formatTable,
  parseArgs,
  tempDir,
  timed,
  type BenchOptions,
  type BenchResult,
  type Row,
} from './lib/report.ts'
import type { CatchupResult } from './lib/protocol.ts'
import { mib } from './lib/stats.ts'

const range = (xs: readonly number[]): [number, number] => [Math.min(...xs), Math.max(...xs)]

export async function catchupRuns(
  fx: RoomFixture,
  runs: number,
  cpuProfDir?: string,
): Promise<CatchupResult[]> {
  const out: CatchupResult[] = []
  for (let i = 0; i < runs; i++) {
    const dir = tempDir(`joiner${fx.count}`)
    const joiner = PeerProcess.spawn({
      name: `joiner-${fx.count}-${i}`,
      ...(cpuProfDir === undefined ? {} : { cpuProfDir }),
    })
    try {
      await joiner.call('start', { dir: dir.path, kind: 'messenger' })
      const cpu0 = await fx.author.call('cpu', {})
      await fx.author.call('timings', {})
      const r = await joiner.call(
        'catchup',
        {
          room: fx.room,
          addr: fx.info.addr,
          author: fx.info.author,
          seq: fx.seq,
          newest: fx.newest,
          timeoutMs: 120_000,
        },
        180_000,
      )
      r.authorCpuMs = (await fx.author.call('cpu', {})).ms - cpu0.ms
      r.authorTimings = await fx.author.call('timings', {})
      if (r.shownAfterLoadAll !== fx.count)
        throw new Error(`joiner shows ${r.shownAfterLoadAll} of ${fx.count} messages`)
      if (cpuProfDir !== undefined) {
        const { fromUs, toUs } = r.profileWindow
        console.log(`catch-up ${fx.count} run ${i}: profile window --window ${fromUs}-${toUs}`)
        console.log('  joiner timings', JSON.stringify(r.timings))
        console.log('  author timings', JSON.stringify(r.authorTimings))
      }
      out.push(r)
    } finally {
      await joiner.stop().catch(() => joiner.kill())
      dir.dispose()
    }
  }
  return out
}

export function catchupRows(count: number, rs: readonly CatchupResult[], fx: RoomFixture): Row[] {
  if (rs.length === 0) return []
  const label = `catch-up ${count.toLocaleString('en')}`
  const big = count >= 100_000
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const newest = rs.map((r) => r.newest50)
  const all = rs.map((r) => r.all)
  const bytesIn = rs.map((r) => r.bytes.responseIn + r.bytes.requestOut)
  const [n0, n1] = range(newest)
  const [a0, a1] = range(all)
  return [
    {
      name: `${label}: build (author)`,
      value: fx.buildMs / 1000,
      unit: `s, ${Math.round(count / (fx.buildMs / 1000))}/s`,
    },
    {
      name: `${label}: dialled / first shown`,
      value: med(rs.map((r) => r.connected)),
      unit: `/ ${med(rs.map((r) => r.firstShown)).toFixed(1)} ms`,
    },
    {
      name: `${label}: newest 50 shown`,
      value: med(newest),
      unit: `ms (${n0.toFixed(0)}–${n1.toFixed(0)})`,
      ...(big ? { target: { op: '<=', value: 200 } as const } : {}),
    },
    {
      name: `${label}: all verified+stored`,
      value: med(all),
      unit: `ms (${a0.toFixed(0)}–${a1.toFixed(0)})`,
      ...(big ? { target: { op: '<=', value: 2000 } as const } : {}),
    },
    {
      name: `${label}: CPU joiner to newest 50 shown`,
      value: med(rs.map((r) => r.cpuNewestMs)),
      unit: 'ms',
    },
    {
      name: `${label}: CPU joiner / author`,
      value: med(rs.map((r) => r.cpuMs)),
      unit: `/ ${med(rs.map((r) => r.authorCpuMs ?? NaN)).toFixed(0)} ms`,
    },
    {
      name: `${label}: joiner in store.append`,
      value: med(rs.map((r) => r.timings.find(([k]) => k === 'store.append')?.[1].ms ?? 0)),
      unit: 'ms',
    },
    { name: `${label}: sync bytes`, value: mib(med(bytesIn)), unit: 'MiB' },
    { name: `${label}: then load all days`, value: med(rs.map((r) => r.loadAll)), unit: 'ms' },
    {
      name: `${label}: joiner RSS after catch-up`,
      value: mib(med(rs.map((r) => r.memAfterCatchup.rss))),
      unit: 'MiB',
      ...(big ? { target: { op: '<=', value: 150 } as const } : {}),
    },
    {
      name: `${label}: joiner RSS, all days loaded`,
      value: mib(med(rs.map((r) => r.memAfterLoadAll.rss))),
      unit: 'MiB',
    },
    { name: `${label}: author RSS after build`, value: mib(fx.authorMem.rss), unit: 'MiB' },
  ]
}

export async function catchupBench(
  count: number,
  opts: BenchOptions,
  runs: number,
): Promise<{ result: BenchResult; fixture: RoomFixture }> {
  let fixture: RoomFixture | undefined
  const result = await timed(`catchup-${count}`, async () => {
    fixture = await buildRoom(
      count,
      opts.profileDir === undefined ? {} : { cpuProfDir: opts.profileDir },
    )
    const rs = await catchupRuns(fixture, runs, opts.profileDir)
    return {
      rows: catchupRows(count, rs, fixture),
      details: { runs: rs, buildMs: fixture.buildMs, authorMem: fixture.authorMem },
    }
  })
  return { result, fixture: fixture! }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2)
  const r = argv.indexOf('--runs')
  const runs = r >= 0 ? Number(argv[r + 1]) : undefined
  const opts = parseArgs(r >= 0 ? argv.filter((_, i) => i !== r && i !== r + 1) : argv)
  const results: BenchResult[] = []
  for (const count of opts.quick ? [10_000] : [10_000, 100_000]) {
    const { result, fixture } = await catchupBench(count, opts, runs ?? (opts.quick ? 1 : 3))
    await fixture.close()
    results.push(result)
  }
  console.log(formatTable(results))
}
