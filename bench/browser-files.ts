/**
 * Browser → browser file throughput (issue #5 §9), in Debian's headless Chromium against a real
 * `parley serve` (host namespace, http://127.0.0.1): person A shares a file of random bytes (100 MB;
 * 20 MB with --quick) through the composer's file input; person B clicks Download. Rows:
 *
 * - **share**: A's file read chunk by chunk, hashed (SHA-256 per 1 MiB chunk) and stored in A's
 *   IndexedDB, from setting the input to the upload bar saying done;
 * - **browser → browser**: B's click on Download to the browser's download event: the file fetched
 *   from every connected holder (A over the direct WebRTC link when it is up, and the serving Node
 *   peer, which keeps the files of its rooms), each chunk verified and stored in B's IndexedDB,
 *   then handed over as a Blob of the stored chunks. The downloaded bytes are checked by SHA-256.
 *
 *   npx tsx bench/browser-files.ts [--quick]      (npm run bench -- browser-files)
 */
import '../src/node/polyfill.ts'
import { fileURLToPath } from 'node:url'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { signUp, startChromium, startServe } from '../test/e2e/harness.ts'
import {
  formatTable,
  parseArgs,
  tempDir,
  timed,
  type BenchOptions,
  type BenchResult,
} from './lib/report.ts'

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

export async function browserFileBench(opts: BenchOptions): Promise<BenchResult> {
  const mb = opts.quick ? 20 : 100
  return timed(`browser → browser file, ${mb} MB`, async () => {
    const dir = tempDir('browser-files')
    const serve = await startServe(tempDir('browser-files-serve').path)
    const chrome = await startChromium()
    try {
      const a = await (await chrome.context()).newPage()
      const b = await (await chrome.context()).newPage()
      await a.goto(serve.url)
      await signUp(a, 'alice', 'Alice Sender', 'long enough')
      await b.goto(serve.url)
      await signUp(b, 'bob', 'Bob Receiver', 'long enough')
      await b.locator('[data-testid=person][data-user=alice][data-status=online]').waitFor({
        timeout: 30_000,
      })
      const bytes = randomBytes(mb * 1_000_000)
      const src = join(dir.path, 'payload.bin')
      writeFileSync(src, bytes)

      const t0 = performance.now()
      await a.getByTestId('file-input').setInputFiles(src)
      await a
        .locator('[data-testid=transfer][data-direction=up][data-state=done]')
        .waitFor({ timeout: 600_000 })
      const shareMs = performance.now() - t0

      const att = b.getByTestId('attachment').filter({ hasText: 'payload.bin' })
      await att.waitFor({ timeout: 60_000 })
      const t1 = performance.now()
      const [dl] = await Promise.all([
        b.waitForEvent('download', { timeout: 900_000 }),
        att.getByTestId('download').click(),
      ])
      const fetchMs = performance.now() - t1
      const out = join(dir.path, 'received.bin')
      await dl.saveAs(out)
      const ok = sha256(readFileSync(out)) === sha256(bytes)
      if (!ok) throw new Error('the downloaded file does not match')
      const peers = await b.getByTestId('connection').getAttribute('data-status')
      return {
        rows: [
          {
            name: `share ${mb} MB (read, hash, store in IndexedDB)`,
            value: (mb * 1000) / shareMs,
            unit: 'MB/s',
          },
          {
            name: `browser → browser ${mb} MB (fetch, verify, store, Blob)`,
            value: (mb * 1000) / fetchMs,
            unit: 'MB/s',
          },
        ],
        details: {
          mb,
          shareMs: Math.round(shareMs),
          fetchMs: Math.round(fetchMs),
          sha256Match: ok,
          connection: peers,
        },
      }
    } finally {
      await chrome.stop()
      await serve.stop()
      dir.dispose()
    }
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const opts = parseArgs(process.argv.slice(2))
  console.log(`\n${formatTable([await browserFileBench(opts)])}`)
}
