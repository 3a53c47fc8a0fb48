/**
 * Micro-bench of the AEADs node:crypto offers for the bulk side channel (src/net/bulk-record.ts):
 * ChaCha20-Poly1305 against AES-256-GCM, sealing and opening records of the sizes the channel
 * sends (one file chunk frame, ~1 MiB), plus SHA-256 for scale (every chunk is hashed too).
 *
 *   npx tsx bench/micro/aead.ts [--mb=256]
 *
 * Prints MB/s and CPU seconds per GB (process.cpuUsage), with the load average.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'

const MiB = 1024 * 1024
const arg = (name: string, dflt: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt)
const total = arg('mb', 256) * MiB

type Algo = 'chacha20-poly1305' | 'aes-256-gcm'

function run(name: string, recordBytes: number, step: (rec: Buffer, n: number) => void): void {
  const rec = randomBytes(recordBytes)
  const n = Math.ceil(total / recordBytes)
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) step(rec, i)
  const s = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  const bytes = n * recordBytes
  const cpu = (c.user + c.system) / 1e6
  console.log(
    `${name.padEnd(44)} ${String(recordBytes).padStart(8)} B  ${(bytes / 1e6 / s).toFixed(0).padStart(6)} MB/s  ${((cpu * 1e9) / bytes).toFixed(3)} CPU s/GB`,
  )
}

const cipher = (algo: Algo, key: Buffer, iv: Buffer) =>
  algo === 'aes-256-gcm'
    ? createCipheriv(algo, key, iv, { authTagLength: 16 })
    : createCipheriv(algo, key, iv, { authTagLength: 16 })
const decipher = (algo: Algo, key: Buffer, iv: Buffer) =>
  algo === 'aes-256-gcm'
    ? createDecipheriv(algo, key, iv, { authTagLength: 16 })
    : createDecipheriv(algo, key, iv, { authTagLength: 16 })

function nonce(i: number): Buffer {
  const iv = Buffer.alloc(12)
  iv.writeUInt32BE(i, 8)
  return iv
}

const key = randomBytes(32)
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
)
for (const size of [64 * 1024, MiB + 64, 3 * MiB]) {
  for (const algo of ['chacha20-poly1305', 'aes-256-gcm'] as Algo[]) {
    run(`seal ${algo}`, size, (rec, i) => {
      const c = cipher(algo, key, nonce(i))
      c.update(rec)
      c.final()
      c.getAuthTag()
    })
    const sealed = (() => {
      const c = cipher(algo, key, nonce(0))
      const out = Buffer.concat([c.update(randomBytes(size)), c.final()])
      return { out, tag: c.getAuthTag() }
    })()
    run(`open ${algo}`, size, () => {
      const d = decipher(algo, key, nonce(0))
      d.setAuthTag(sealed.tag)
      d.update(sealed.out)
      d.final()
    })
  }
  run('sha-256', size, (rec) => createHash('sha256').update(rec).digest())
}
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
)
