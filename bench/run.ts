/**
 * Every Parley benchmark, in sequence (issue #2 §10), each peer its own process:
 *
 *   npm run bench                       # the whole set (~5 minutes on 2 cores)
 *   npm run bench -- --quick            # short runs, 10,000-message rooms (~1.5 minutes)
 *   npm run bench -- latency catchup    # only benches whose name contains one of these words
 *   npm run bench -- --profile DIR      # also write a V8 CPU profile of every peer process
 *   npm run bench -- --compiled         # peers from an esbuild bundle on plain Node (no tsx)
 *   npm run bench -- browser            # Chromium: browser→browser latency, 100k-room first paint,
 *                                       #   browser→browser file throughput (browser-files: only that)
 *   npm run bench -- node-files --file-mb=2048  # Node→Node file transfer (1 GiB default) beside raw TCP
 *   npm run bench -- load               # the sustained-load smoke (10 peers, 30 s); the full run
 *                                       #   (50 peers, 5 minutes) is `npm run bench:load`
 *   npm run bench -- abuse              # flood, 100,000 topics, sybils vs honest latency (bench/abuse.ts)
 *
 * Prints a table (with the load average around each bench: other work shares the machine) and
 * writes bench/results/latest.json (latest-quick.json with --quick) and a dated copy.
 */
import { fileURLToPath } from 'node:url'
import { mkdirSync } from 'node:fs'
import { fanOutNetLatency, twoPeerNetLatency } from './net-latency.ts'
import { fanOutLatency, twoPeerLatency } from './latency.ts'
import { throughputBench } from './throughput.ts'
import { abuseBench } from './abuse.ts'
import { filesBench } from './files.ts'
import { catchupBench } from './catchup.ts'
import { coldLoadBench, idleRss } from './cold-load.ts'
import { browserBenches } from './browser.ts'
import { browserFileBench } from './browser-files.ts'
import { loadBench, loadOptions } from './load.ts'
import { bundlePeer } from './lib/compiled.ts'
import { TS_PEER, usePeerScript } from './lib/proc.ts'
import { formatTable, machine, parseArgs, writeResults, type BenchResult } from './lib/report.ts'

const COMPILED = ', esbuild bundle on plain Node'

export async function runAll(argv: readonly string[]): Promise<BenchResult[]> {
  const opts = parseArgs(argv)
  const compiled = argv.includes('--compiled')
  if (compiled) usePeerScript(bundlePeer())
  if (opts.profileDir !== undefined) mkdirSync(opts.profileDir, { recursive: true })
  const wanted = (name: string): boolean =>
    opts.only.length === 0 || opts.only.some((w) => name.includes(w))
  const results: BenchResult[] = []
  const failures: string[] = []
  /** Runs one bench; a failure is reported and the run goes on with the next. */
  const attempt = async (name: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn()
    } catch (err) {
      failures.push(name)
      console.error(`bench ${name} failed:`, err)
    }
  }
  const done = (rs: BenchResult | BenchResult[]): void => {
    for (const r of Array.isArray(rs) ? rs : [rs]) {
      results.push(r)
      console.log(formatTable([r]).split('\n').slice(2).join('\n'))
    }
  }
  console.log('machine', JSON.stringify(machine()))
  const run = async (name: string, fn: () => Promise<BenchResult>): Promise<void> => {
    if (wanted(name)) await attempt(name, async () => done(await fn()))
  }
  await run('memory', () => idleRss())
  // Two-peer runs first: the 11-process fan-outs raise the load average for a minute after.
  await run('net-latency', () => twoPeerNetLatency(opts))
  await run('latency', () => twoPeerLatency(opts))
  await run('net-latency', () => fanOutNetLatency(opts))
  await run('latency', () => fanOutLatency(opts, true))
  await run('latency', () => fanOutLatency(opts, false))
  await run('throughput', () => throughputBench(opts))
  await run('abuse', () => abuseBench(opts))
  await run('node-files', () => filesBench(opts, argv))
  if (wanted('browser')) done(await browserBenches(opts))
  await run('browser-files', () => browserFileBench(opts))
  const loadArgs = [
    '--quick',
    ...(opts.profileDir === undefined ? [] : ['--profile', opts.profileDir]),
  ]
  await run('load', () => loadBench({ ...loadOptions(loadArgs), bundle: false }))
  const sizes = opts.quick ? [10_000] : [10_000, 100_000]
  const runs = opts.quick ? 1 : 3
  for (const count of sizes) {
    const last = count === sizes[sizes.length - 1]
    const cold = last && (wanted('cold') || wanted('memory'))
    if (!wanted('catchup') && !cold) continue
    await attempt(`catchup-${count}`, () => catchupAndColdLoad(count, cold))
  }
  if (failures.length > 0) console.error(`failed: ${failures.join(', ')}`)
  return results

  async function catchupAndColdLoad(count: number, cold: boolean): Promise<void> {
    const { result, fixture } = await catchupBench(count, opts, wanted('catchup') ? runs : 0)
    try {
      if (wanted('catchup')) done(result)
      if (cold) {
        // The author's data dir, with the snapshots it writes when it stops.
        await fixture.author.stop()
        done(await coldLoadBench(fixture.dir.path, fixture.room, count, opts, runs))
        if (!compiled) {
          // What a build without tsx would use: the same peer bundled, on plain Node.
          usePeerScript(bundlePeer())
          try {
            done(await idleRss(COMPILED))
            done(await coldLoadBench(fixture.dir.path, fixture.room, count, opts, 1, COMPILED))
          } finally {
            usePeerScript(TS_PEER)
          }
        }
      }
    } finally {
      fixture.author.kill()
      fixture.dir.dispose()
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2)
  const t0 = performance.now()
  const results = await runAll(argv)
  console.log(`\n${formatTable(results)}\n`)
  const quick = argv.includes('--quick')
  const partial = parseArgs(argv).only.length > 0
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  if (!partial) await writeResults(quick ? 'latest-quick.json' : 'latest.json', results, argv)
  const path = await writeResults(`run-${stamp}${quick ? '-quick' : ''}.json`, results, argv)
  console.log(`results: ${path} (${((performance.now() - t0) / 1000).toFixed(0)} s)`)
}
