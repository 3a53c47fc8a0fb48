/**
 * The ceiling of Parley's request protocol for bulk data (issue #5 §9): two processes on loopback,
 * `PeerNet.request` over TCP + Noise + yamux, the responder yielding 1 MiB frames from memory (no
 * disk, no hashing). What a file transfer could reach if everything above `src/net` were free.
 *
 *   npx tsx bench/micro/net-stream.ts [--mb=256] [--frames=16] [--parallel=2] [--key]
 *
 * `--frames` frames per request, `--parallel` requests in flight at once, `--key` both nets in a
 * private network (`networkKey`, as every org peer since the organisation became the default).
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import '../../src/node/polyfill.ts'
import { createLibp2pNet } from '../../src/net/libp2p.ts'
import type { PeerIdString } from '../../src/net/index.ts'

const MiB = 1024 * 1024
const arg = (name: string, dflt: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt)

const withKey = process.argv.includes('--key')
const keyInit = withKey ? { networkKey: new Uint8Array(32).fill(1) } : {}

const cpuSeconds = (): number => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1e6
}

async function responder(): Promise<void> {
  const net = await createLibp2pNet({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    transports: 'node',
    ...keyInit,
  })
  const frame = new Uint8Array(MiB).fill(7)
  net.handle(async function* (request) {
    const n = new DataView(request.buffer, request.byteOffset).getUint32(0)
    for (let i = 0; i < n; i++) yield frame
  })
  await net.start()
  const addr = net.addresses().find((a) => a.includes('/127.0.0.1/'))
  process.stdout.write(`${addr}\n`)
  process.stdin.resume()
  process.stdin.on('end', () => {
    process.stdout.write(`cpu ${cpuSeconds()}\n`, () => process.exit(0))
  })
}

async function requester(): Promise<void> {
  const mb = arg('mb', 256)
  const frames = arg('frames', 16)
  const parallel = arg('parallel', 2)
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', ...(withKey ? ['--key'] : [])],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  )
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const addr = (await lines.next()).value as string
  const net = await createLibp2pNet({
    mdns: false,
    transports: 'node',
    bootstrap: [addr],
    ...keyInit,
  })
  await net.start()
  const peer = addr.slice(addr.lastIndexOf('/') + 1) as PeerIdString
  for (let i = 0; i < 100 && !net.peers().includes(peer); i++)
    await new Promise((r) => setTimeout(r, 50))
  let left = mb
  let got = 0
  const t0 = performance.now()
  const c0 = cpuSeconds()
  const worker = async (): Promise<void> => {
    while (left > 0) {
      const n = Math.min(frames, left)
      left -= n
      const req = new Uint8Array(4)
      new DataView(req.buffer).setUint32(0, n)
      for await (const f of net.request(peer, req)) got += f.length
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
  const s = (performance.now() - t0) / 1000
  const cpu = cpuSeconds() - c0
  child.stdin!.end()
  const serverCpu = Number(((await lines.next()).value as string).split(' ')[1])
  await net.stop()
  const gb = got / 1e9
  console.log(
    JSON.stringify({
      mb,
      frames,
      parallel,
      key: withKey,
      MBps: Math.round(got / 1e6 / s),
      requesterCpuPerGB: +(cpu / gb).toFixed(2),
      responderCpuTotal: +serverCpu.toFixed(2),
      load: (await import('node:os')).loadavg()[0],
    }),
  )
  process.exit(0)
}

if (process.argv.includes('--serve')) await responder()
else await requester()
