/**
 * Browser file throughput (issue #5 §9), in Debian's headless Chromium against a real
 * `parley serve` (host namespace, http://127.0.0.1): person A shares a file of random bytes (100 MB;
 * 20 MB with --quick; `--mb=N`) through the composer's file input. Rows:
 *
 * - **share**: A's file read chunk by chunk, hashed (SHA-256 per 1 MiB chunk) and stored in A's
 *   IndexedDB, from setting the input to the upload bar saying done;
 * - **browser → Node**: from then until the serving Node peer (which keeps the files of its rooms)
 *   holds the file whole, fetched from A (asked through its control API, as `parley get` does);
 * - **browser → browser**: B's click on Download to the browser's download event: the file fetched
 *   from every connected holder (A over the direct WebRTC link when it is up, and the Node peer),
 *   each chunk verified and stored in B's IndexedDB, then handed over as a Blob of the stored chunks;
 * - **Node → browser**: A's page closed, C downloads the same way from the Node peer alone.
 *
 * With `--b2b-only` the serve keeps no files (`--file-quota 1MB`), so B fetches from A alone and the
 * Node and C rows are skipped. Every download's bytes are checked by SHA-256. Each receiver's
 * fetch logs where its time went per holder (src/core/files/fetch-stats.ts): printed in `details`.
 * `--profile DIR` writes a Chrome CPU profile (CDP) of each page during each download; build with
 * `npx vite build --minify false` first to read function names.
 *
 *   npx tsx bench/browser-files.ts [--quick] [--mb=N] [--b2b-only] [--profile DIR]
 */
import '../src/node/polyfill.ts'
import { fileURLToPath } from 'node:url'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CDPSession, Page } from 'playwright-core'
import { RESULTS, signUp, startChromium, startServe, type ServePeer } from '../test/e2e/harness.ts'
import { callControl, findControl } from '../src/node/control.ts'
import { summarise } from './profile-summary.ts'
import {
  formatTable,
  parseArgs,
  tempDir,
  timed,
  type BenchOptions,
  type BenchResult,
  type Row,
} from './lib/report.ts'

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]

export async function browserFileBench(opts: BenchOptions): Promise<BenchResult> {
  const mb = Number(arg('mb') ?? (opts.quick ? 20 : 100))
  const b2bOnly = process.argv.includes('--b2b-only')
  return timed(`browser file transfers, ${mb} MB`, async () => {
    const dir = tempDir('browser-files')
    const serve = await startServe(
      tempDir('browser-files-serve').path,
      b2bOnly ? ['--file-quota', '1MB'] : [],
    )
    const chrome = await startChromium()
    const stats: string[] = []
    const profiles: Record<string, unknown> = {}
    const rows: Row[] = []
    const row = (name: string, ms: number): void => {
      rows.push({ name, value: (mb * 1000) / ms, unit: 'MB/s' })
    }
    /** A page that logs its fetches' stage summaries (fetch-stats.ts) into `stats`. */
    const page = async (who: string): Promise<Page> => {
      const ctx = await chrome.context()
      await ctx.addInitScript(() => localStorage.setItem('debug', 'parley:core:files:fetch'))
      const p = await ctx.newPage()
      p.on('crash', () => stats.push(`${who}: the page crashed`))
      p.on('close', () => stats.push(`${who}: the page closed`))
      p.on('console', (m) => {
        const t = m.text().replace(/%c|color: \S+|color: inherit|%s|\+\d+ms/g, '')
        if (t.includes('fetch of')) stats.push(`${who}: ${t.replace(/^.*ended: /, '').trim()}`)
        else if (m.type() === 'error') stats.push(`${who} error: ${t.slice(0, 300)}`)
      })
      await p.goto(serve.url)
      return p
    }
    try {
      const a = await page('A')
      await signUp(a, 'alice', 'Alice Sender', 'long enough')
      const b = await page('B')
      await signUp(b, 'bob', 'Bob Receiver', 'long enough')
      await b.locator('[data-testid=person][data-user=alice][data-status=online]').waitFor({
        timeout: 30_000,
      })
      const bytes = randomBytes(mb * 1_000_000)
      const src = join(dir.path, 'payload.bin')
      writeFileSync(src, bytes)
      const want = sha256(bytes)

      const t0 = performance.now()
      await a.getByTestId('file-input').setInputFiles(src)
      await a
        .locator('[data-testid=transfer][data-direction=up][data-state=done]')
        .waitFor({ timeout: 600_000 })
      row(`share ${mb} MB (read, hash, store in IndexedDB)`, performance.now() - t0)

      const att = b.getByTestId('attachment').filter({ hasText: 'payload.bin' })
      await att.waitFor({ timeout: 60_000 })
      const fileId = await att.getAttribute('data-file')
      if (!b2bOnly && fileId !== null) {
        const t1 = performance.now()
        await nodeHolds(serve, fileId, join(dir.path, 'node.bin'))
        row(`browser → Node ${mb} MB (the Node peer fetches from A)`, performance.now() - t1)
      }

      const bName = b2bOnly ? 'browser → browser' : 'browser → browser + Node peer'
      const got = await profiled(opts, { A: a, B: b }, profiles, 'b2b', () =>
        download(b, join(dir.path, 'b.bin')),
      )
      if (got.hash !== want) throw new Error('the downloaded file does not match')
      row(`${bName} ${mb} MB (fetch, verify, store, Blob)`, got.ms)
      const connection = await b.getByTestId('connection').getAttribute('data-status')

      let failed: string | undefined
      if (!b2bOnly) {
        let c: Page | undefined
        try {
          await a.context().close()
          const cp = await page('C')
          c = cp
          await signUp(c, 'carol', 'Carol Late', 'long enough')
          await c.getByTestId('attachment').filter({ hasText: 'payload.bin' }).waitFor({
            timeout: 180_000,
          })
          const fromNode = await profiled(opts, { C: cp }, profiles, 'n2b', () =>
            download(cp, join(dir.path, 'c.bin')),
          )
          if (fromNode.hash !== want) throw new Error('the file from the Node peer does not match')
          row(`Node → browser ${mb} MB (fetch, verify, store, Blob)`, fromNode.ms)
        } catch (err) {
          // the rows above still count
          failed = `Node → browser: ${String(err).split('\n')[0]}; serve: ${serve.output().slice(-1500)}`
          await c
            ?.screenshot({ path: join(RESULTS, 'bench-browser-files-c.png') })
            .catch(() => undefined)
        }
      }
      // holders by name: the serve's peer id ends as fetch-stats.ts prints it
      const named = stats.map((l) => l.replaceAll(serve.peerId.slice(-8), 'node'))
      return { rows, details: { mb, b2bOnly, connection, failed, stats: named, profiles } }
    } finally {
      await chrome.stop()
      await serve.stop()
      dir.dispose()
    }
  })
}

/** Clicks Download on `page`'s attachment; the time to the download event and the file's SHA-256. */
async function download(page: Page, out: string): Promise<{ ms: number; hash: string }> {
  const att = page.getByTestId('attachment').filter({ hasText: 'payload.bin' })
  const t = performance.now()
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 900_000 }),
    att.getByTestId('download').click(),
  ])
  const ms = performance.now() - t
  await dl.saveAs(out)
  return { ms, hash: sha256(readFileSync(out)) }
}

/** Resolves once the serve holds `id` whole: a `get` through its control API joins its fetch. */
async function nodeHolds(serve: ServePeer, id: string, out: string): Promise<void> {
  const control = findControl(serve.dir)
  if (control === undefined) throw new Error('no control API')
  const res = await callControl(control, 'get', { body: { id, out } })
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let text = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) throw new Error(`the serve's get ended without the file: ${text.slice(-300)}`)
    text += value
    if (/"state":"done"|"done":true/.test(text)) return void reader.cancel()
    if (text.includes('"error"')) throw new Error(`the serve's get failed: ${text.slice(-300)}`)
  }
}

/** Runs `fn` with a CDP CPU profile of each page when `--profile` is given (written to its dir). */
async function profiled<T>(
  opts: BenchOptions,
  pages: Record<string, Page>,
  out: Record<string, unknown>,
  label: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (opts.profileDir === undefined) return fn()
  const sessions: [string, CDPSession][] = []
  for (const [who, p] of Object.entries(pages)) {
    const s = await p.context().newCDPSession(p)
    await s.send('Profiler.enable')
    await s.send('Profiler.setSamplingInterval', { interval: 500 })
    await s.send('Profiler.start')
    sessions.push([who, s])
  }
  const result = await fn()
  mkdirSync(opts.profileDir, { recursive: true })
  for (const [who, s] of sessions) {
    const { profile } = await s.send('Profiler.stop')
    const file = join(opts.profileDir, `${label}-${who}.cpuprofile`)
    writeFileSync(file, JSON.stringify(profile))
    const sum = summarise(profile as Parameters<typeof summarise>[0], 12)
    out[`${label}-${who}`] = {
      file,
      sampledMs: Math.round(sum.totalMs),
      top: sum.fns.map(([f, ms]) => `${((100 * ms) / sum.totalMs).toFixed(1)} % ${f}`),
    }
  }
  return result
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const opts = parseArgs(process.argv.slice(2).filter((a) => !a.startsWith('--mb=')))
  const result = await browserFileBench(opts)
  console.log(`\n${formatTable([result])}`)
  console.log(JSON.stringify(result.details, null, 2))
}
