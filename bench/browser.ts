/**
 * Browser benchmarks (issue #3 §8), in Debian's headless Chromium against a real `parley serve`:
 *
 * - **browser → browser delivery latency** (p50/p99): from the sender's Enter keydown to the text in
 *   the receiver's DOM, one message at a time, in a dm. Network namespaces like
 *   test/e2e/lan.netns.e2e.test.ts (needs root): pc1 and pc3 share a LAN segment and link directly
 *   over WebRTC through the Node relay; pc2 is on a segment that reaches only the Node peer, so a
 *   pc1↔pc2 pair is relayed through it. Rows: relayed; direct (the Node peer still up, so each
 *   message also goes through it and the first copy wins); direct only (the Node peer stopped).
 *   Both browsers run on this machine, so one wall clock times both ends.
 * - **first paint**: page load (navigation start) → the newest 50 messages of a 100,000-message room
 *   in the DOM and a frame drawn, the whole room held in the browser's IndexedDB (joined, caught
 *   up, then reloaded). Host namespace, http://127.0.0.1, a window tall enough for 50 rows.
 *
 *   npx tsx bench/browser.ts [--quick] [latency] [first-paint]      (npm run bench -- browser)
 */
import '../src/node/polyfill.ts'
import { fileURLToPath } from 'node:url'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { CliHarness } from '../test/helpers/cli.ts'
import {
  createLan,
  launchChromiumIn,
  netnsUnsupported,
  type NsChromium,
} from '../test/e2e/netns.ts'
import {
  registerServedInviter,
  send,
  signUp,
  startChromium,
  startServe,
} from '../test/e2e/harness.ts'
import { seedBigRoom } from '../test/e2e/seed.ts'
import { distribution } from './lib/stats.ts'
import {
  breakdown,
  formatBreakdown,
  instrument,
  profilePage,
  split,
  takeMarks,
  type Split,
} from './lib/stages.ts'
import {
  formatTable,
  parseArgs,
  tempDir,
  timed,
  type BenchOptions,
  type BenchResult,
  type Row,
} from './lib/report.ts'

/** Delivery times of `n` messages from `from` to `to`, one at a time, each split into stages. */
async function latencies(
  from: Page,
  to: Page,
  n: number,
  first: number,
): Promise<{ ms: number[]; splits: Split[] }> {
  const ms: number[] = []
  const splits: Split[] = []
  for (let i = first; i < first + n; i++) {
    await takeMarks(from)
    await takeMarks(to)
    await send(from, `lat ${i}`)
    await to.waitForFunction((k) => k in (window as unknown as { seen: object }).seen, String(i), {
      timeout: 20_000,
    })
    // Let the sender finish its own stages (its marks after the receiver showed the text).
    await from.waitForTimeout(20)
    const sent = await from.evaluate(
      (k) => (window as unknown as { sent: Record<string, number> }).sent[k] ?? NaN,
      String(i),
    )
    const seen = await to.evaluate(
      (k) => (window as unknown as { seen: Record<string, number> }).seen[k] ?? NaN,
      String(i),
    )
    ms.push(seen - sent)
    splits.push(split(sent, seen, await takeMarks(from), await takeMarks(to)))
  }
  return { ms, splits }
}

/** Opens a dm from `a` to `b` (b's user id `bId`, a's display name `aName`) and returns when both show it. */
async function dm(a: Page, b: Page, bId: string, aName: string): Promise<void> {
  await a.locator(`[data-testid=person][data-user=${bId}]`).click()
  await send(a, 'hello')
  const link = b.locator('[data-testid=room-link]').filter({ hasText: aName })
  await link.waitFor({ timeout: 30_000 })
  await link.click()
}

async function directLinked(page: Page, other: string): Promise<void> {
  const panel = page.getByTestId('connection')
  if ((await panel.getAttribute('open')) === null) await panel.locator('summary').click()
  await page
    .locator('[data-testid=peer][data-kind=direct]')
    .filter({ hasText: other })
    .filter({ hasText: 'WebRTC' })
    .waitFor({ timeout: 60_000 })
}

const latencyRows = (name: string, xs: number[], p50Target: number): Row[] => {
  const d = distribution(xs)
  return [
    { name: `${name}: p50`, value: d.p50, unit: 'ms', target: { op: '<=', value: p50Target } },
    { name: `${name}: p99`, value: d.p99, unit: 'ms' },
  ]
}

export async function browserLatencyBench(opts: BenchOptions): Promise<BenchResult> {
  return timed('browser latency', async () => {
    const why = netnsUnsupported()
    if (why !== undefined) throw new Error(`bench/browser.ts ${why}`)
    const n = opts.quick ? 30 : 200
    const h = new CliHarness()
    const lan = createLan('node', [['pc1', 'pc3'], ['pc2']], 79)
    const chromes: NsChromium[] = []
    try {
      for (const pc of ['pc1', 'pc2', 'pc3']) lan.defaultRoute(pc)
      // --profile DIR: the Node peer's processes write V8 CPU profiles into DIR/node when they exit.
      const nodeOptions = process.env.NODE_OPTIONS
      if (opts.profileDir !== undefined) {
        process.env.PARLEY_CPU_PROF_DIR = join(opts.profileDir, 'node')
        process.env.NODE_OPTIONS = `--import ${fileURLToPath(new URL('./lib/cpu-prof.mjs', import.meta.url))}`
      }
      const inNode = { prefix: ['ip', 'netns', 'exec', lan.ns.node!] }
      const serve = await h.serve(h.tmpDir(), ['--name', 'office-peer'], inNode).finally(() => {
        if (nodeOptions === undefined) delete process.env.NODE_OPTIONS
        else process.env.NODE_OPTIONS = nodeOptions
      })
      // the first sign-up redeems the setup link the serve printed, the others `parley invite`
      registerServedInviter(h, serve, inNode)
      const ca = readFileSync(join(serve.dir, 'tls', 'ca.crt'), 'utf8')
      const page = async (pc: string): Promise<Page> => {
        const c = await launchChromiumIn(lan.ns[pc]!, ca)
        chromes.push(c)
        const p = await (await c.browser.newContext()).newPage()
        await p.goto(`https://${lan.gateway[pc]}:${serve.webPort}/`)
        return p
      }
      const [a, b, c] = [await page('pc1'), await page('pc3'), await page('pc2')]
      await signUp(a, 'alice', 'Alice', 'bench password')
      await signUp(b, 'bob', 'Bob', 'bench password')
      await signUp(c, 'carol', 'Carol', 'bench password')
      await directLinked(a, 'Bob')
      for (const p of [a, b, c]) await instrument(p)

      const warm = 10
      await dm(a, c, 'carol', 'Alice')
      await latencies(a, c, warm, 0)
      const relayed = await latencies(a, c, n, warm)
      await dm(a, b, 'bob', 'Alice')
      await latencies(a, b, warm, 10_000)
      const direct = await latencies(a, b, n, 10_000 + warm)
      await serve.stop()
      await a
        .getByTestId('peer')
        .filter({ hasText: 'office-peer' })
        .waitFor({ state: 'detached', timeout: 30_000 })
      // --profile DIR: CPU profiles of both pages over the direct-only samples.
      const dir = opts.profileDir
      const stops =
        dir === undefined
          ? []
          : [
              await profilePage(a, join(dir, 'latency-sender.cpuprofile')),
              await profilePage(b, join(dir, 'latency-receiver.cpuprofile')),
            ]
      const directOnly = await latencies(a, b, n, 20_000)
      for (const stop of stops) await stop()
      const stages = {
        relayed: breakdown(relayed.splits),
        direct: breakdown(direct.splits),
        directOnly: breakdown(directOnly.splits),
      }
      console.log(formatBreakdown('relayed via the Node peer', stages.relayed))
      console.log(formatBreakdown('direct WebRTC (Node peer up)', stages.direct))
      console.log(formatBreakdown('direct WebRTC only', stages.directOnly))
      return {
        rows: [
          ...latencyRows('browser→browser relayed via the Node peer', relayed.ms, 40),
          ...latencyRows('browser→browser direct WebRTC (Node peer up)', direct.ms, 20),
          ...latencyRows('browser→browser direct WebRTC only', directOnly.ms, 20),
        ],
        details: {
          samples: n,
          relayed: distribution(relayed.ms),
          direct: distribution(direct.ms),
          directOnly: distribution(directOnly.ms),
          stages,
        },
      }
    } finally {
      for (const c of chromes) await c.stop().catch(() => undefined)
      await h.cleanup()
      lan.remove()
    }
  })
}

/** Entries in the page's Parley history databases (runs in the page). */
async function heldEntries(): Promise<number> {
  let total = 0
  for (const info of await indexedDB.databases()) {
    // Entry stores only, `parley-history-<author>` (an author id is 43 base64url characters): the
    // period documents are y-indexeddb databases `<store>/<room>/<period>`, and shared files are in
    // `<store>-files`.
    if (!/^parley-history-[\w-]{43}$/.test(info.name ?? '')) continue
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(info.name!)
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error ?? new Error('open failed'))
    })
    total += await new Promise<number>((resolve, reject) => {
      const req = db.transaction('entries').objectStore('entries').count()
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error ?? new Error('count failed'))
    })
    db.close()
  }
  return total
}

/** The page's `parley:*` performance marks, ms after navigation start, names without the prefix. */
function pageMarks(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() =>
    Object.fromEntries(
      performance
        .getEntriesByType('mark')
        .filter((m) => m.name.startsWith('parley:'))
        .map((m) => [m.name.slice('parley:'.length), Math.round(m.startTime)]),
    ),
  )
}

export async function browserFirstPaintBench(opts: BenchOptions): Promise<BenchResult> {
  const count = opts.quick ? 10_000 : 100_000
  return timed(`browser first paint ${count.toLocaleString('en')}`, async () => {
    const dir = tempDir('first-paint')
    const seedMs = await seedBigRoom(dir.path, count, 1_000, 1_000)
    const serve = await startServe(dir.path)
    const chrome = await startChromium()
    try {
      const ctx = await chrome.browser.newContext({ viewport: { width: 1100, height: 3000 } })
      const page = await ctx.newPage()
      await page.goto(serve.url)
      await signUp(page, 'reader', 'Rita Reader', 'long enough')
      await page.getByTestId('browse-rooms').click()
      await page.locator('[data-testid=listed-room][data-room=big] [data-testid=join-room]').click()
      const newest = `message ${count - 1}`
      await page
        .getByTestId('message-text')
        .filter({ hasText: newest })
        .waitFor({ timeout: 60_000 })
      // Catch-up of the older days runs in the background: wait until IndexedDB holds them all
      // (one entry per message), or the count stops growing for 10 s.
      const t0 = Date.now()
      let held = 0
      for (let still = 0; held < count && still < 10 && Date.now() - t0 < 900_000;) {
        await page.waitForTimeout(1_000)
        const now = await page.evaluate(heldEntries)
        still = now === held ? still + 1 : 0
        held = now
      }
      const catchUpMs = Date.now() - t0
      const runs: number[] = []
      const marks: Record<string, number>[] = []
      for (let i = 0; i < (opts.quick ? 2 : 5); i++) {
        await page.reload({ waitUntil: 'commit' })
        const ms = await page.waitForFunction(
          (n) => {
            const shown = new Set(
              [...document.querySelectorAll('[data-testid=message-text]')].map((e) =>
                e.textContent?.trim(),
              ),
            )
            for (let k = n - 50; k < n; k++) if (!shown.has(`message ${k}`)) return false
            return performance.now()
          },
          count,
          { polling: 'raf', timeout: 60_000 },
        )
        runs.push(Number(await ms.jsonValue()))
        marks.push(await pageMarks(page))
      }
      const d = distribution(runs)
      return {
        rows: [
          {
            name: `first paint, newest 50 of ${count.toLocaleString('en')} in IndexedDB: median`,
            value: d.p50,
            unit: 'ms',
            target: { op: '<=', value: 500 },
          },
          {
            name: `first paint ${count.toLocaleString('en')}: slowest of ${runs.length}`,
            value: d.max,
            unit: 'ms',
          },
        ],
        details: { runs, seedMs, catchUpMs, held, marks },
      }
    } finally {
      await chrome.stop()
      await serve.stop()
      dir.dispose()
    }
  })
}

/** Runs the browser benches; `parts` picks some of `latency`, `first-paint` (default both). */
export async function browserBenches(
  opts: BenchOptions,
  parts: readonly string[] = [],
): Promise<BenchResult[]> {
  const out: BenchResult[] = []
  const print = (r: BenchResult): void => {
    out.push(r)
    console.log(`${formatTable([r])}\n${JSON.stringify(r.details)}`)
  }
  const want = (name: string): boolean => parts.length === 0 || parts.includes(name)
  if (want('latency')) {
    if (netnsUnsupported() === undefined) print(await browserLatencyBench(opts))
    else console.log(`browser latency skipped: ${netnsUnsupported()}`)
  }
  if (want('first-paint')) print(await browserFirstPaintBench(opts))
  return out
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const opts = parseArgs(process.argv.slice(2))
  console.log(`\n${formatTable(await browserBenches(opts, opts.only))}`)
}
