/**
 * Micro-bench of the private network's XSalsa20 (every byte of every TCP/WebSocket connection is
 * XORed with it once each way): the `xsalsa20` package that `@libp2p/pnet` uses against
 * `@noble/ciphers` (one call per chunk, so not a stream: only its speed) and Parley's
 * `XSalsa20Stream` (src/net/xsalsa20.ts, keystream carried across chunks) on browsers' Salsa20
 * (`@noble/ciphers`) and on Node's (libsodium through `sodium-native`), on chunks the sizes a
 * socket and Noise deliver.
 *
 *   npx tsx bench/micro/xsalsa20.ts [--mb=256]
 *
 * Prints MB/s and CPU seconds per GB (process.cpuUsage, so a loaded machine shows up in MB/s
 * more than in CPU time), with the load average.
 */
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import xsalsa20 from 'xsalsa20'
import { xsalsa20 as nobleXsalsa20 } from '@noble/ciphers/salsa.js'
import { XSalsa20Stream, nobleSalsa20 } from '../../src/net/xsalsa20.ts'
import { sodiumSalsa20 } from '../../src/net/xsalsa20-native.ts'

const MiB = 1024 * 1024
const arg = (name: string, dflt: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt)

type Update = (chunk: Uint8Array) => Uint8Array
interface Contender {
  name: string
  make(key: Uint8Array, nonce: Uint8Array): Update
}

const contenders: Contender[] = [
  {
    name: 'xsalsa20 1.2.0 (@libp2p/pnet)',
    make: (key, nonce) => {
      const x = xsalsa20(nonce, key)
      return (chunk) => x.update(chunk)
    },
  },
  {
    // Not a stream: every chunk restarts the keystream (only a speed reference).
    name: '@noble/ciphers xsalsa20, one call per chunk',
    make: (key, nonce) => (chunk) => nobleXsalsa20(key, nonce, chunk),
  },
  {
    name: 'XSalsa20Stream (src/net, @noble/ciphers: browsers)',
    make: (key, nonce) => {
      const s = new XSalsa20Stream(key, nonce, nobleSalsa20)
      return (chunk) => s.update(chunk)
    },
  },
  {
    name: 'XSalsa20Stream (src/net, libsodium)',
    make: (key, nonce) => {
      const s = new XSalsa20Stream(key, nonce, sodiumSalsa20)
      return (chunk) => s.update(chunk)
    },
  },
]

function run(c: Contender, chunks: readonly Uint8Array[], bytes: number) {
  const update = c.make(randomBytes(32), randomBytes(24))
  let sink = 0
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  for (let done = 0, i = 0; done < bytes; i++) {
    const chunk = chunks[i % chunks.length]!
    sink ^= update(chunk)[0]!
    done += chunk.byteLength
  }
  const s = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const cpuS = (cpu.user + cpu.system) / 1e6
  return { mbps: bytes / 1e6 / s, cpuPerGb: cpuS / (bytes / 1e9), sink }
}

const mb = arg('mb', 256)
const shapes: { label: string; chunks: Uint8Array[] }[] = [
  { label: '64 KiB chunks', chunks: [randomBytes(64 * 1024)] },
  // What the sender's pnet layer is handed: Noise frames of a yamux data frame, concatenated.
  { label: '1 MiB chunks', chunks: [randomBytes(MiB)] },
  { label: '4 MiB chunks', chunks: [randomBytes(4 * MiB)] },
  // A socket's reads and Noise frames (2-byte length + up to 65,535 bytes) are not block-aligned.
  {
    label: 'mixed 65,537 / 1,500 / 12-byte chunks',
    chunks: [randomBytes(65537), randomBytes(1500), randomBytes(12), randomBytes(65537)],
  },
]
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, ${mb} MiB per row`,
)
for (const { label, chunks } of shapes) {
  for (const c of contenders) {
    run(c, chunks, 16 * MiB) // warm-up (JIT)
    const r = run(c, chunks, mb * MiB)
    console.log(
      `${label.padEnd(38)} ${c.name.padEnd(52)} ${r.mbps.toFixed(0).padStart(5)} MB/s  ` +
        `${r.cpuPerGb.toFixed(2)} CPU s/GB`,
    )
  }
}
console.log(
  `load average after ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
)
