/**
 * File transfer (issue #5 §9): Node→Node throughput of one large file beside raw TCP on loopback in
 * the same run, and the peak resident memory of sender and receiver.
 *
 *   npm run bench -- node-files              # 1 GiB (256 MiB with --quick)
 *   npm run bench -- node-files --file-mb=2048  # any size
 *   npm run bench -- node-files --receiver=shm  # only the tmpfs receiver (or =disk)
 *   npm run bench -- node-files --profile DIR   # V8 CPU profiles of sender and receivers
 *
 * The sender is a real `parley serve` (its store seeded with the file before it starts); the
 * receiver a real `parley get` (standalone, dialling the sender), each its own process. The
 * receiver runs twice: with its data directory on the disk (fdatasync before chunks count as held),
 * and on tmpfs (/dev/shm), which shows the network path without the disk's write speed.
 */
import { execFileSync, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import {
  closeSync,
  createReadStream,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { DiskChunkStore } from '../src/node/file-store.ts'
import { importFile } from '../src/core/files/import.ts'
import { timed, type BenchResult, type Row } from './lib/report.ts'

const sha256 = (b: Uint8Array): Uint8Array =>
  new Uint8Array(createHash('sha256').update(b).digest())
const MiB = 1024 * 1024
const BIN = fileURLToPath(new URL('../bin/parley.js', import.meta.url))

/** Loopback TCP between two processes: MB/s for `bytes`. */
async function rawTcp(bytes: number): Promise<number> {
  const server = `
    const net = require('node:net'); const buf = Buffer.alloc(1 << 20, 7); const size = ${bytes}
    const srv = net.createServer((s) => { let sent = 0
      const pump = () => { while (sent < size) { sent += buf.length; if (!s.write(buf)) return s.once('drain', pump) } s.end(() => srv.close()) }
      pump() })
    srv.listen(0, '127.0.0.1', () => console.log(srv.address().port))`
  const child = spawn(process.execPath, ['-e', server], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = Number(await firstLine(child.stdout))
  const { connect } = await import('node:net')
  const t0 = performance.now()
  let got = 0
  await new Promise<void>((resolve, reject) => {
    const c = connect(port, '127.0.0.1')
    c.on('data', (d: Buffer) => (got += d.length))
    c.on('end', resolve)
    c.on('error', reject)
  })
  const s = (performance.now() - t0) / 1000
  child.kill()
  return got / 1e6 / s
}

async function firstLine(stream: NodeJS.ReadableStream, match: RegExp = /./): Promise<string> {
  const rl = createInterface({ input: stream })
  for await (const line of rl) if (match.test(line)) return line
  throw new Error('stream ended before the line came')
}

/** CPU seconds (user + system) a running process has used so far. */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime in clock ticks (USER_HZ 100)
}

/** Peak resident memory (VmHWM) of a running process, in MB. */
function peakRssMB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? NaN : Number(m[1]) / 1024
}

/** `dir` joins the organisation of the serve on `serveDir` as a Node peer (invite, then join). */
function joinOrg(serveDir: string, dir: string): string {
  const run = (args: string[]): string =>
    execFileSync(process.execPath, [BIN, ...args, '--no-mdns'], { encoding: 'utf8' })
  const code = run(['invite', '--data', serveDir, '--role', 'peer']).split('\n')[1] ?? ''
  run(['join', '--data', dir, code])
  return dir
}

interface GetResult {
  bytes: number
  fetchSeconds: number
  maxRssMB: number
  /** CPU seconds (all threads) of the receiver process during the fetch. */
  fetchCpuSeconds: number
}

const profArgs = (dir: string | undefined, name: string): string[] =>
  dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(dir, name)}`]

async function get(
  id: string,
  addr: string,
  dataDir: string,
  out: string,
  profileDir: string | undefined,
  name: string,
): Promise<GetResult> {
  const child = spawn(
    process.execPath,
    [
      ...profArgs(profileDir, name),
      BIN,
      'get',
      id,
      '--out',
      out,
      '--data',
      dataDir,
      '--peer',
      addr,
      '--no-mdns',
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  )
  const line = await firstLine(child.stdout, /^\{/)
  return JSON.parse(line) as GetResult
}

export async function filesBench(
  opts: { quick: boolean; profileDir?: string },
  argv: readonly string[],
): Promise<BenchResult> {
  const flag = argv.find((a) => a.startsWith('--file-mb='))
  const size = Number(flag?.split('=')[1] ?? (opts.quick ? 256 : 1024)) * MiB
  const receiver = argv.find((a) => a.startsWith('--receiver='))?.split('=')[1] ?? 'both'
  const profileDir = opts.profileDir
  return timed(`files (${size / MiB} MiB)`, async () => {
    const dirs: string[] = []
    const tmp = (base = tmpdir()): string => {
      const d = mkdtempSync(join(base, 'parley-bench-files-'))
      dirs.push(d)
      return d
    }
    let serve: ReturnType<typeof spawn> | undefined
    try {
      const src = join(tmp(), 'big.bin')
      const fd = openSync(src, 'w')
      const block = randomBytes(16 * MiB)
      for (let n = 0; n < size; n += block.length) {
        block.writeUInt32BE(n / block.length, 0) // no two blocks alike
        writeSync(fd, block, 0, Math.min(block.length, size - n))
      }
      closeSync(fd)
      const senderDir = tmp()
      const store = new DiskChunkStore({ dir: join(senderDir, 'files') })
      const { id } = await importFile(
        store,
        sha256,
        createReadStream(src, { highWaterMark: MiB }),
        {
          name: 'big.bin',
          type: '',
          size,
        },
      )
      await store.close()
      rmSync(src)
      serve = spawn(
        process.execPath,
        [
          ...profArgs(profileDir, 'sender'),
          BIN,
          'serve',
          '--data',
          senderDir,
          '--port',
          '0',
          '--tcp-port',
          '0',
          '--no-mdns',
        ],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      )
      const listen = await firstLine(serve.stdout!, /^listening: \/ip4\/127\.0\.0\.1\//)
      const addr = listen.replace('listening: ', '')
      const raw = await rawTcp(size)
      const pid = serve.pid!
      /** One receiver run, with the sender's CPU seconds during it. */
      const run = async (
        base: string,
        name: string,
      ): Promise<GetResult & { senderCpu: number }> => {
        const cpu0 = cpuSecondsOf(pid)
        const dir = joinOrg(senderDir, tmp(base))
        const r = await get(id, addr, dir, join(dir, 'out.bin'), profileDir, name)
        rmSync(join(dir, 'out.bin'), { force: true })
        return { ...r, senderCpu: cpuSecondsOf(pid) - cpu0 }
      }
      const disk = receiver === 'shm' ? undefined : await run(tmpdir(), 'receiver-disk')
      const shm = receiver === 'disk' ? undefined : await run('/dev/shm', 'receiver-tmpfs')
      const senderRss = peakRssMB(pid)
      const mbps = (r: GetResult): number => r.bytes / 1e6 / r.fetchSeconds
      const rows: Row[] = [{ name: 'raw TCP loopback', value: raw, unit: 'MB/s' }]
      const cpuRows = (r: GetResult & { senderCpu: number }, where: string): Row[] => [
        {
          name: `receiver CPU s per GB (${where})`,
          value: r.fetchCpuSeconds / (r.bytes / 1e9),
          unit: 's',
        },
        { name: `sender CPU s per GB (${where})`, value: r.senderCpu / (r.bytes / 1e9), unit: 's' },
      ]
      if (shm !== undefined) {
        rows.push(
          {
            name: 'Node→Node, receiver on tmpfs',
            value: mbps(shm),
            unit: 'MB/s',
            target: { op: '>=', value: 300 },
          },
          { name: 'Node→Node / raw TCP', value: mbps(shm) / raw, unit: 'ratio' },
          ...cpuRows(shm, 'tmpfs'),
        )
      }
      if (disk !== undefined) {
        rows.push(
          { name: 'Node→Node, receiver on disk', value: mbps(disk), unit: 'MB/s' },
          ...cpuRows(disk, 'disk'),
        )
      }
      rows.push(
        {
          name: 'receiver peak RSS',
          value: Math.max(disk?.maxRssMB ?? 0, shm?.maxRssMB ?? 0),
          unit: 'MB',
          target: { op: '<=', value: 300 },
        },
        { name: 'sender peak RSS', value: senderRss, unit: 'MB', target: { op: '<=', value: 300 } },
      )
      return { rows, details: { size, id, raw, disk, shm, senderRss } }
    } finally {
      if (serve !== undefined && serve.exitCode === null) {
        const exited = new Promise((resolve) => serve!.once('exit', resolve))
        serve.kill()
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))])
      }
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    }
  })
}
