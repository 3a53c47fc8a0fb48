/**
 * Cold load (issue #2 §10.4) and resident memory (§10.5): a fresh process starts a peer on the data
 * dir of an author that holds a 100,000-message room (200 days; its period snapshots written when
 * it stopped). Timed from before the store opens: until `messages(room)` returns the newest page,
 * and then until every older day is loaded (`loadOlder` until false, one read of everything).
 * RSS is sampled after a forced GC, after the newest page and with everything loaded.
 *
 *   npx tsx bench/cold-load.ts [--quick]     (builds its own room first)
 */
import { fileURLToPath } from 'node:url'
import { PeerProcess } from './lib/proc.ts'
import { buildRoom } from './lib/room-fixture.ts'
import {
  formatTable,
  parseArgs,
  tempDir,
  timed,
  type BenchOptions,
  type BenchResult,
  type Row,
} from './lib/report.ts'
import type { ColdLoadResult } from './lib/protocol.ts'
import { mib } from './lib/stats.ts'

export async function coldLoadRuns(
  dir: string,
  room: string,
  runs: number,
  cpuProfDir?: string,
): Promise<ColdLoadResult[]> {
  const out: ColdLoadResult[] = []
  for (let i = 0; i < runs; i++) {
    const p = PeerProcess.spawn({
      name: `cold-${i}`,
      ...(cpuProfDir === undefined ? {} : { cpuProfDir }),
    })
    try {
      out.push(await p.call('coldLoad', { dir, room }, 120_000))
    } finally {
      await p.stop().catch(() => p.kill())
    }
  }
  return out
}

const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const span = (xs: number[], digits = 0): string =>
  `(${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`

export function coldLoadRows(count: number, rs: readonly ColdLoadResult[], suffix = ''): Row[] {
  const label = `cold load ${count.toLocaleString('en')}${suffix}`
  const newest = rs.map((r) => r.newestPage)
  const all = rs.map((r) => r.all)
  const rssNewest = rs.map((r) => mib(r.memAfterNewest.rss))
  const rssAll = rs.map((r) => mib(r.memAfterAll.rss))
  for (const r of rs) {
    if (r.allCount !== count) throw new Error(`cold load shows ${r.allCount} of ${count} messages`)
    if (r.newestPageCount < 50)
      throw new Error(`cold load shows only ${r.newestPageCount} messages first`)
  }
  return [
    {
      name: `${label}: newest page`,
      value: med(newest),
      unit: `ms ${span(newest)}`,
      target: { op: '<=', value: 500 },
    },
    {
      name: `${label}: process start→newest page`,
      value: med(rs.map((r) => r.uptimeAtStart + r.newestPage)),
      unit: 'ms',
    },
    { name: `${label}: whole history loaded`, value: med(all), unit: `ms ${span(all)}` },
    {
      name: `${label}: RSS, newest page`,
      value: med(rssNewest),
      unit: `MiB ${span(rssNewest, 1)}`,
      target: { op: '<=', value: 150 },
    },
    { name: `${label}: RSS, all loaded`, value: med(rssAll), unit: `MiB ${span(rssAll, 1)}` },
  ]
}

export async function coldLoadBench(
  dir: string,
  room: string,
  count: number,
  opts: BenchOptions,
  runs: number,
  suffix = '',
): Promise<BenchResult> {
  return timed(`cold-load-${count}${suffix === '' ? '' : '-compiled'}`, async () => {
    const rs = await coldLoadRuns(dir, room, runs, opts.profileDir)
    return { rows: coldLoadRows(count, rs, suffix), details: rs }
  })
}

/** RSS of a peer that holds nothing: the baseline under every other memory figure. */
export async function idleRss(suffix = ''): Promise<BenchResult> {
  return timed(`idle-rss${suffix === '' ? '' : '-compiled'}`, async () => {
    const dir = tempDir('idle')
    const p = PeerProcess.spawn({ name: 'idle' })
    try {
      await p.call('start', { dir: dir.path, kind: 'messenger' })
      const m = await p.call('mem', {})
      return {
        rows: [{ name: `idle peer RSS (baseline)${suffix}`, value: mib(m.rss), unit: 'MiB' }],
        details: m,
      }
    } finally {
      await p.stop().catch(() => p.kill())
      dir.dispose()
    }
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const opts = parseArgs(process.argv.slice(2))
  const count = opts.quick ? 10_000 : 100_000
  const fx = await buildRoom(count)
  await fx.author.stop()
  const results = [
    await idleRss(),
    await coldLoadBench(fx.dir.path, fx.room, count, opts, opts.quick ? 1 : 3),
  ]
  fx.dir.dispose()
  console.log(formatTable(results))
}
