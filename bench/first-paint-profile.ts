/**
 * Where the time to first paint goes: the first-paint bench's room (bench/browser.ts), kept between
 * runs (seeded data directory and Chromium profile under a work directory), reloaded a few times;
 * prints the page's `parley:*` marks and the paint time per reload, and for the last reload a CDP
 * CPU profile of the page (self time by function and by script), saved as `.cpuprofile`.
 *
 *   npx vite build --logLevel warn && npx tsx bench/first-paint-profile.ts [--count 10000]
 *     [--reloads 3] [--dir /tmp/parley-first-paint] [--offline] [--no-profile] [--trace DIR]
 *
 * `--offline` reloads with the Node peer stopped (history must still paint). `--trace DIR` saves a
 * Chrome trace of every reload there and prints, per span between the page's marks, main-thread
 * CPU time and IndexedDB requests (bench/lib/page-trace.ts); `--no-profile` skips the CPU profile
 * (its start costs the profiled reload ~100 ms of main thread).
 */
import '../src/node/polyfill.ts'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { loadavg } from 'node:os'
import { chromium, type Page } from 'playwright-core'
import { signUp } from '../test/e2e/harness.ts'
import { seedBigRoom } from '../test/e2e/seed.ts'
import { endTrace, startTrace, traceSpans } from './lib/page-trace.ts'

const ROOT = resolve(import.meta.dirname, '..')
const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    reloads: { type: 'string', default: '3' },
    dir: { type: 'string', default: '/tmp/parley-first-paint' },
    port: { type: 'string', default: '47311' },
    offline: { type: 'boolean', default: false },
    'no-profile': { type: 'boolean', default: false },
    trace: { type: 'string' },
  },
})
const count = Number(values.count)
const work = join(values.dir, String(count))
const data = join(work, 'serve')
const port = Number(values.port) + (count % 1000)

function serve(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(ROOT, 'bin/parley.js'),
      'serve',
      '--no-mdns',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--tcp-port',
      '0',
      '--data',
      data,
      '--name',
      'office-peer',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  return new Promise((res, rej) => {
    let out = ''
    const timer = setTimeout(() => rej(new Error(`serve not ready:\n${out}`)), 60_000)
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const url = /web app: (\S+)/.exec(out)?.[1]
      if (/^ready$/m.test(out) && url !== undefined) {
        clearTimeout(timer)
        res({
          url,
          async stop() {
            if (child.exitCode !== null) return
            const exited = new Promise((r) => child.once('exit', r))
            child.kill('SIGTERM')
            await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))])
            if (child.exitCode === null) child.kill('SIGKILL')
          },
        })
      }
    })
    child.once('exit', (code) => rej(new Error(`serve exited ${code}:\n${out}`)))
  })
}

/** Entries in the page's entry store `parley-history-<author>` (runs in the page). */
async function heldEntries(): Promise<number> {
  let total = 0
  for (const info of await indexedDB.databases()) {
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

/** ms after navigation start when the newest 50 are all in the DOM (checked each frame). */
async function painted(page: Page): Promise<number> {
  const h = await page.waitForFunction(
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
    { polling: 'raf', timeout: 120_000 },
  )
  return Math.round(Number(await h.jsonValue()))
}

/** The page's `parley:*` marks, its navigation timing and when each script arrived (ms). */
function marks(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming
    return Object.fromEntries([
      ['html', Math.round(nav.responseEnd)],
      ['dom-interactive', Math.round(nav.domInteractive)],
      ...performance
        .getEntriesByType('resource')
        .filter((r) => r.name.endsWith('.js'))
        .map((r) => [
          `js:${r.name.replace(/^.*\//, '').slice(0, 12)}`,
          Math.round((r as PerformanceResourceTiming).responseEnd),
        ]),
      ...performance
        .getEntriesByType('mark')
        .filter((m) => m.name.startsWith('parley:'))
        .map((m) => [m.name.slice('parley:'.length), Math.round(m.startTime)]),
    ])
  })
}

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

/**
 * Self time by script and by function of the samples between `from` and `to` (ms after navigation
 * start, which is `navStart` µs on the profile's clock).
 */
function summarize(p: Profile, navStart: number, from: number, to: number, n = 25): void {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  let t = p.startTime
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0
    const at = (t - navStart) / 1000
    if (at < from || at > to) continue
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i + 1] ?? 0) / 1000)
  }
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const keyOf = (id: number): string => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    return `${functionName || '(anon)'} ${url.replace(/^.*\//, '')}:${lineNumber + 1}`
  }
  // Inclusive: each function on a sample's stack once.
  const incl = new Map<string, number>()
  for (const [id, ms] of self) {
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = keyOf(at)
      if (seen.has(k) || byId.get(at)!.callFrame.url === '') continue
      seen.add(k)
      incl.set(k, (incl.get(k) ?? 0) + ms)
    }
  }
  const fn = new Map<string, number>()
  const file = new Map<string, number>()
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    const short = url.replace(/^.*\//, '')
    const k = `${functionName || '(anon)'} ${short}:${lineNumber + 1}`
    fn.set(k, (fn.get(k) ?? 0) + ms)
    file.set(short || '(native)', (file.get(short || '(native)') ?? 0) + ms)
  }
  const top = (m: Map<string, number>, n: number): string =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `  ${v.toFixed(1).padStart(8)} ms  ${k}`)
      .join('\n')
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  console.log(`--- ${from}–${to} ms: ${total.toFixed(0)} ms sampled\nby script:\n${top(file, 6)}`)
  console.log(`by function (self):\n${top(fn, n)}`)
  if (process.env.INCLUSIVE !== undefined) console.log(`inclusive:\n${top(incl, n)}`)
}

mkdirSync(data, { recursive: true })
if (!existsSync(join(work, 'seeded'))) {
  const ms = await seedBigRoom(data, count, 1_000, 1_000)
  writeFileSync(join(work, 'seeded'), String(ms))
  console.log(`seeded ${count} in ${Math.round(ms)} ms`)
}
const peer = await serve()
const ctx = await chromium.launchPersistentContext(join(work, 'chrome'), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking'],
  viewport: { width: 1100, height: 3000 },
})
try {
  const page = ctx.pages()[0] ?? (await ctx.newPage())
  await page.goto(peer.url)
  const signedIn = await Promise.race([
    page
      .getByTestId('composer')
      .waitFor({ timeout: 30_000 })
      .then(() => true),
    page
      .getByRole('tab', { name: 'Sign up' })
      .waitFor({ timeout: 30_000 })
      .then(() => false),
  ])
  if (!signedIn) {
    await signUp(page, 'reader', 'Rita Reader', 'long enough')
    await page.getByTestId('browse-rooms').click()
    await page.locator('[data-testid=listed-room][data-room=big] [data-testid=join-room]').click()
    await painted(page)
    const t0 = Date.now()
    let held = 0
    for (let still = 0; held < count && still < 10 && Date.now() - t0 < 900_000;) {
      await page.waitForTimeout(1_000)
      const now = await page.evaluate(heldEntries)
      still = now === held ? still + 1 : 0
      held = now
    }
    console.log(`caught up: ${held} held after ${Date.now() - t0} ms`)
  }
  if (values.offline) await peer.stop()
  // Animation frames and long tasks of each load (does the page draw while it starts?).
  // (A string: tsx names functions with a helper the page does not have.)
  await page.addInitScript(`{
    const w = window
    w.frames_ = []
    w.long_ = []
    const tick = (t) => {
      if (w.frames_.length < 200) {
        w.frames_.push(Math.round(t))
        requestAnimationFrame(tick)
      }
    }
    requestAnimationFrame(tick)
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) w.long_.push([Math.round(e.startTime), Math.round(e.duration)])
    }).observe({ type: 'longtask', buffered: true })
  }`)
  const reloads = Number(values.reloads)
  const cdp = await ctx.newCDPSession(page)
  for (let i = 0; i < reloads; i++) {
    const profile = i === reloads - 1 && !values['no-profile']
    if (values.trace !== undefined) await startTrace(cdp)
    if (profile) {
      await cdp.send('Performance.enable')
      await cdp.send('Profiler.enable')
      await cdp.send('Profiler.setSamplingInterval', { interval: 250 })
      await cdp.send('Profiler.start')
    }
    const load = loadavg()[0]!.toFixed(1)
    await page.reload({ waitUntil: 'commit' })
    const ms = await painted(page)
    const m = await marks(page)
    console.log(`reload ${i + 1}: painted ${ms} ms (load ${load})`, JSON.stringify(m))
    const seen = await page.evaluate(() => {
      const w = window as unknown as { frames_: number[]; long_: [number, number][] }
      return { frames: w.frames_.slice(0, 30), long: w.long_ }
    })
    console.log(`  frames ${seen.frames.join(' ')}\n  long tasks ${JSON.stringify(seen.long)}`)
    if (values.trace !== undefined) {
      mkdirSync(values.trace, { recursive: true })
      const file = join(values.trace, `reload-${i + 1}.json`)
      console.log(`  trace ${file}: ${traceSpans(await endTrace(cdp, file), ms)}`)
    }
    if (profile) {
      const { profile: p } = (await cdp.send('Profiler.stop')) as { profile: Profile }
      const { metrics } = (await cdp.send('Performance.getMetrics')) as {
        metrics: { name: string; value: number }[]
      }
      const navStart = metrics.find((x) => x.name === 'NavigationStart')!.value * 1e6
      const out = join(work, `reload-${Date.now()}.cpuprofile`)
      writeFileSync(out, JSON.stringify(p))
      console.log(`profile saved: ${out}`)
      summarize(p, navStart, 0, ms, 40)
      const edges = [
        0,
        ...Object.entries(m)
          .filter(([k, v]) => !k.startsWith('js:') && v < ms)
          .map(([, v]) => v),
        ms,
      ].sort((a, b) => a - b)
      for (let k = 1; k < edges.length; k++) summarize(p, navStart, edges[k - 1]!, edges[k]!, 8)
    }
  }
} finally {
  await ctx.close()
  await peer.stop()
}
