/**
 * Micro-bench of the Ed25519 check every peer makes of every message it takes (a push's signed
 * head): OpenSSL through node:crypto (with the parsed key cached, as src/node/crypto-node.ts keeps
 * it), libsodium through `sodium-native`, Parley's Node `HistoryCrypto` (libsodium, then OpenSSL
 * only for a signature libsodium refuses) and the portable noble check browsers run. 460-byte
 * messages (a chat entry's signed bytes), valid and invalid signatures.
 *
 *   npx tsx bench/micro/ed25519-verify.ts [--n=3000]
 *
 * Prints µs per check, median of 5 rounds, with the load average.
 */
import { loadavg } from 'node:os'
import { createPublicKey, verify } from 'node:crypto'
import sodium from 'sodium-native'
import { createNobleSigner, generateDeviceKey, nobleCrypto } from '../../src/crdt/crypto.ts'
import { createNodeCrypto } from '../../src/node/crypto-node.ts'

const n = Number(process.argv.find((a) => a.startsWith('--n='))?.split('=')[1] ?? 3000)
const { secretKey, publicKey } = generateDeviceKey()
const msg = new Uint8Array(460).fill(7)
const sig = await createNobleSigner(secretKey).sign(msg)
const bad = sig.slice()
bad[40] = (bad[40] ?? 0) ^ 1
const key = createPublicKey({
  key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), publicKey]),
  format: 'der',
  type: 'spki',
})
const parley = createNodeCrypto()

type Check = (s: Uint8Array) => boolean | Promise<boolean>
const contenders: [string, Check, number][] = [
  ['OpenSSL (node:crypto, key cached)', (s) => verify(null, msg, key, s), n],
  ['libsodium (sodium-native)', (s) => sodium.crypto_sign_verify_detached(s, msg, publicKey), n],
  [
    'Parley on Node (libsodium, then OpenSSL if refused)',
    (s) => parley.verify(publicKey, s, msg),
    n,
  ],
  ['noble (browsers)', (s) => nobleCrypto.verify(publicKey, s, msg), Math.ceil(n / 10)],
]

async function usPer(check: Check, s: Uint8Array, count: number, want: boolean): Promise<number> {
  const rounds: number[] = []
  for (let r = 0; r < 5; r++) {
    const t = performance.now()
    for (let i = 0; i < count; i++) if ((await check(s)) !== want) throw new Error('wrong verdict')
    rounds.push(((performance.now() - t) * 1000) / count)
  }
  return rounds.sort((a, b) => a - b)[2]!
}

console.log(`load ${loadavg()[0]!.toFixed(2)}; µs per check, median of 5 rounds of ${n}`)
for (const [name, check, count] of contenders) {
  const ok = await usPer(check, sig, count, true)
  const refused = await usPer(check, bad, count, false)
  console.log(
    `${name.padEnd(54)} valid ${ok.toFixed(1).padStart(7)}   invalid ${refused.toFixed(1).padStart(7)}`,
  )
}
console.log(`load ${loadavg()[0]!.toFixed(2)}`)
