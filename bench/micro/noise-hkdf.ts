/**
 * Micro-bench of Noise's key derivation (src/net/noise-node.ts): `@chainsafe/libp2p-noise`'s HKDF
 * (`@noble/hashes` in JavaScript) against node:crypto's `hkdfSync`, each in a fresh process, as a
 * peer's first handshake meets it: the first call, the next five (an XX handshake derives five
 * times, then splits), then the warm mean over 10,000.
 *
 *   npx tsx bench/micro/noise-hkdf.ts
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

type Impl = 'noble' | 'node'

async function measure(impl: Impl): Promise<void> {
  const { pureJsCrypto } = await import('@chainsafe/libp2p-noise/crypto')
  const { nodeNoiseCrypto } = await import('../../src/net/noise-node.ts')
  const hkdf = impl === 'noble' ? pureJsCrypto.getHKDF : nodeNoiseCrypto.getHKDF
  const ck = crypto.getRandomValues(new Uint8Array(32))
  const ikm = crypto.getRandomValues(new Uint8Array(32))
  let t = performance.now()
  hkdf(ck, ikm)
  const first = performance.now() - t
  t = performance.now()
  for (let i = 0; i < 5; i++) hkdf(ck, ikm)
  const next5 = performance.now() - t
  t = performance.now()
  for (let i = 0; i < 10_000; i++) hkdf(ck, ikm)
  const warmUs = ((performance.now() - t) / 10_000) * 1000
  console.log(
    `${impl.padEnd(5)}  first ${first.toFixed(2)} ms, next five ${next5.toFixed(2)} ms, warm ${warmUs.toFixed(1)} µs`,
  )
}

const impl = process.argv[2] as Impl | undefined
if (impl !== undefined) await measure(impl)
else
  for (const which of ['noble', 'node'] as const)
    for (let run = 0; run < 3; run++)
      execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), which], {
        stdio: 'inherit',
      })
