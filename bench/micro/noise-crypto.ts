/**
 * Micro-bench of Noise's crypto on Node (src/net/noise-node.ts) against `@chainsafe/libp2p-noise`'s
 * own (`defaultCrypto`), each in a fresh process as a peer's first handshake meets it, then warm:
 *
 * - HKDF: the library's (`@noble/hashes` in JavaScript) against node:crypto's `hkdfSync` — the
 *   first call, the next five (a handshake derives six times), the warm mean over 10,000.
 * - X25519: the library's (node:crypto key objects) against libsodium — one handshake's work (an
 *   ephemeral key pair and three Diffie-Hellmans) cold, then its warm mean over 1,000.
 *
 *   npx tsx bench/micro/noise-crypto.ts
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

type Impl = 'library' | 'parley'

function ms(t: number): string {
  return `${(performance.now() - t).toFixed(2)} ms`
}

async function measure(impl: Impl): Promise<void> {
  const { defaultCrypto } = await import('@chainsafe/libp2p-noise/crypto')
  const { nodeNoiseCrypto } = await import('../../src/net/noise-node.ts')
  const c = impl === 'library' ? defaultCrypto : nodeNoiseCrypto
  const ck = crypto.getRandomValues(new Uint8Array(32))
  const ikm = crypto.getRandomValues(new Uint8Array(32))
  let t = performance.now()
  c.getHKDF(ck, ikm)
  const first = ms(t)
  t = performance.now()
  for (let i = 0; i < 5; i++) c.getHKDF(ck, ikm)
  const next5 = ms(t)
  t = performance.now()
  for (let i = 0; i < 10_000; i++) c.getHKDF(ck, ikm)
  const hkdfWarm = ((performance.now() - t) / 10_000) * 1000
  const remote = defaultCrypto.generateX25519KeyPair().publicKey
  const handshake = (): void => {
    const { privateKey } = c.generateX25519KeyPair()
    for (let i = 0; i < 3; i++) c.generateX25519SharedKey(privateKey, remote)
  }
  t = performance.now()
  handshake()
  const dhCold = ms(t)
  t = performance.now()
  for (let i = 0; i < 1_000; i++) handshake()
  const dhWarm = (performance.now() - t) / 1_000
  console.log(
    `${impl.padEnd(7)}  HKDF first ${first}, next five ${next5}, warm ${hkdfWarm.toFixed(1)} µs` +
      ` · X25519 key pair + 3 DH: first ${dhCold}, warm ${dhWarm.toFixed(3)} ms`,
  )
}

const impl = process.argv[2] as Impl | undefined
if (impl !== undefined) await measure(impl)
else
  for (const which of ['library', 'parley'] as const)
    for (let run = 0; run < 3; run++)
      execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), which], {
        stdio: 'inherit',
      })
