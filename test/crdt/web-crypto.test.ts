/**
 * createWebCrypto (src/crdt/crypto.ts): signature checks in WebCrypto's Ed25519 reach the same
 * verdicts as noble's strict check — on valid, forged, malformed, small-order and torsion inputs,
 * and on random mutations — and fall back to noble where WebCrypto has no Ed25519.
 */
import { describe, expect, it } from 'vitest'
import * as prng from 'lib0/prng'
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToNumberLE } from '@noble/curves/utils.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { concatBytes } from '@noble/hashes/utils.js'
import {
  createNobleSigner,
  createWebCrypto,
  generateDeviceKey,
  nobleCrypto,
} from '../../src/crdt/crypto.ts'

const SEED = 0x3eb
const L = 2n ** 252n + 27742317777372353535851937790883648493n
const leBytes = (n: bigint): Uint8Array =>
  Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn))

/** WebCrypto that counts its native verifications (so a silent fallback to noble shows). */
function counted(): { subtle: SubtleCrypto; verifies: () => number } {
  const real = globalThis.crypto.subtle
  let n = 0
  const subtle = {
    importKey: (...a: Parameters<SubtleCrypto['importKey']>) => real.importKey(...a),
    verify: (...a: Parameters<SubtleCrypto['verify']>) => {
      n += 1
      return real.verify(...a)
    },
  } as unknown as SubtleCrypto
  return { subtle, verifies: () => n }
}

describe('WebCrypto signature checks', () => {
  it('[CRY8] agree with noble on valid, forged, malformed, small-order and torsion inputs', async () => {
    const { subtle, verifies } = counted()
    const web = createWebCrypto(subtle)
    const { secretKey, publicKey } = generateDeviceKey()
    const msg = new TextEncoder().encode('hello')
    const sig = await createNobleSigner(secretKey).sign(msg)
    expect(await web.verify(publicKey, sig, msg)).toBe(true)
    expect(verifies()).toBe(1)
    const flipped = (b: Uint8Array, i: number): Uint8Array => {
      const c = b.slice()
      c[i] = c[i]! ^ 1
      return c
    }
    const sPlusL = sig.slice()
    sPlusL.set(leBytes(bytesToNumberLE(sig.subarray(32)) + L), 32)
    const identity = new Uint8Array(32)
    identity[0] = 1
    const nonCanonical = new Uint8Array(32).fill(0xff)
    nonCanonical[31] = 0x7f
    const cases: [Uint8Array, Uint8Array, Uint8Array][] = [
      [publicKey, flipped(sig, 0), msg],
      [publicKey, flipped(sig, 40), msg],
      [flipped(publicKey, 3), sig, msg],
      [publicKey, sig, flipped(msg, 0)],
      [publicKey, sig.subarray(0, 63), msg],
      [publicKey.subarray(0, 31), sig, msg],
      [new Uint8Array(32).fill(0xff), sig, msg],
      [publicKey, new Uint8Array(64), msg],
      [publicKey, sPlusL, msg],
      [identity, Uint8Array.of(1, ...new Uint8Array(63)), msg],
      [nonCanonical, new Uint8Array(64), msg],
    ]
    for (const [key, s, m] of cases) {
      expect(await web.verify(key, s, m)).toBe(false)
      expect(await nobleCrypto.verify(key, s, m)).toBe(false)
    }
    // an R with a torsion part: noble's default (cofactored) check accepts it, Parley's rule not
    const { Point } = ed25519
    const gen = prng.create(SEED)
    const scalar = (): bigint => Point.Fn.create(bytesToNumberLE(prng.uint8Array(gen, 64)))
    const torsion = Point.fromBytes(new Uint8Array(32), false)
    for (const withTorsion of [false, true]) {
      const [a, r] = [scalar(), scalar()]
      const A = Point.BASE.multiply(a).toBytes()
      const R = Point.BASE.multiply(r)
        .add(withTorsion ? torsion : Point.ZERO)
        .toBytes()
      const k = Point.Fn.create(bytesToNumberLE(sha512(concatBytes(R, A, msg))))
      const forged = concatBytes(R, leBytes((r + k * a) % Point.Fn.ORDER))
      expect(await web.verify(A, forged, msg)).toBe(!withTorsion)
    }
  })

  it('[CRY9] differential: agrees with noble on 300 random mutations of valid signatures', async () => {
    const { subtle, verifies } = counted()
    const web = createWebCrypto(subtle)
    const gen = prng.create(SEED + 1)
    const { secretKey, publicKey } = generateDeviceKey()
    const signer = createNobleSigner(secretKey)
    for (let i = 0; i < 300; i++) {
      const msg = prng.uint8Array(gen, prng.uint32(gen, 0, 64))
      const sig = await signer.sign(msg)
      const key = publicKey.slice()
      const target = prng.oneOf(gen, [sig, key, msg])
      if (target.length > 0) {
        const at = prng.uint32(gen, 0, target.length - 1)
        target[at] = target[at]! ^ (1 << prng.uint32(gen, 0, 7))
      }
      expect(await web.verify(key, sig, msg)).toBe(await nobleCrypto.verify(key, sig, msg))
    }
    expect(verifies()).toBeGreaterThan(0)
  })

  it('[CRY10] without WebCrypto Ed25519 the check is noble’s', async () => {
    const unsupported = {
      importKey: () => Promise.reject(new DOMException('no Ed25519', 'NotSupportedError')),
      verify: () => Promise.reject(new Error('never called')),
    } as unknown as SubtleCrypto
    const { secretKey, publicKey } = generateDeviceKey()
    const msg = new Uint8Array([1, 2, 3])
    const sig = await createNobleSigner(secretKey).sign(msg)
    for (const web of [createWebCrypto(unsupported), createWebCrypto(undefined)]) {
      expect(await web.verify(publicKey, sig, msg)).toBe(true)
      expect(await web.verify(publicKey, sig, Uint8Array.of(9))).toBe(false)
    }
  })
})
