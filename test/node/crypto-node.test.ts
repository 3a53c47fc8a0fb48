import { describe, expect, it } from 'vitest'
import * as prng from 'lib0/prng'
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToNumberLE } from '@noble/curves/utils.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { concatBytes } from '@noble/hashes/utils.js'
import {
  createNobleSigner,
  generateDeviceKey,
  isValidAuthorKey,
  nobleCrypto,
} from '../../src/crdt/crypto.ts'
import sodium from 'sodium-native'
import { createNodeCrypto, createNodeSigner, nodeCrypto } from '../../src/node/crypto-node.ts'

const SEED = 0x5eed
const L = 2n ** 252n + 27742317777372353535851937790883648493n

function leBytes(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len)
  for (let i = 0; i < len; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn)
  return out
}
function leNumber(b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] ?? 0)
  return n
}

describe('node crypto', () => {
  it('[CRY1] sha256 agrees with noble on random inputs and known vectors', () => {
    const gen = prng.create(SEED)
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
    expect(hex(nodeCrypto.sha256(new TextEncoder().encode('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    )
    for (let i = 0; i < 200; i++) {
      const data = prng.uint8Array(gen, prng.uint32(gen, 0, 5000))
      expect(nodeCrypto.sha256(data)).toEqual(nobleCrypto.sha256(data))
    }
    // a view into a larger buffer hashes only its own bytes
    const big = prng.uint8Array(gen, 100)
    expect(nodeCrypto.sha256(big.subarray(10, 20))).toEqual(nobleCrypto.sha256(big.slice(10, 20)))
  })

  it('[CRY2] signatures interoperate both ways, from the same 32-byte seed', async () => {
    const gen = prng.create(SEED + 1)
    for (let i = 0; i < 50; i++) {
      const { secretKey, publicKey } = generateDeviceKey()
      const node = createNodeSigner(secretKey)
      const noble = createNobleSigner(secretKey)
      expect(node.publicKey).toEqual(publicKey)
      expect(noble.publicKey).toEqual(publicKey)
      const msg = prng.uint8Array(gen, prng.uint32(gen, 0, 300))
      const a = await node.sign(msg)
      const b = await noble.sign(msg)
      expect(a).toEqual(b) // Ed25519 is deterministic
      for (const c of [nodeCrypto, nobleCrypto]) {
        expect(await c.verify(publicKey, a, msg)).toBe(true)
        const other = msg.length > 0 ? msg.slice(1) : new Uint8Array([1])
        expect(await c.verify(publicKey, a, other)).toBe(false)
      }
    }
  })

  it('[CRY3] forged and malformed signatures and keys: both reject, never throw', async () => {
    const { secretKey, publicKey } = generateDeviceKey()
    const msg = new TextEncoder().encode('hello')
    const sig = await createNodeSigner(secretKey).sign(msg)
    const flipped = (b: Uint8Array, i: number) => {
      const c = b.slice()
      c[i] = (c[i] ?? 0) ^ 1
      return c
    }
    // S + L: the same point equation, a non-canonical scalar (RFC 8032 requires rejecting it)
    const sPlusL = sig.slice()
    sPlusL.set(leBytes(leNumber(sig.subarray(32)) + L, 32), 32)
    const cases: [Uint8Array, Uint8Array][] = [
      [publicKey, flipped(sig, 0)],
      [publicKey, flipped(sig, 40)],
      [flipped(publicKey, 3), sig],
      [publicKey, sig.subarray(0, 63)],
      [publicKey.subarray(0, 31), sig],
      [new Uint8Array(32).fill(0xff), sig], // not a point
      [publicKey, new Uint8Array(64)],
      [publicKey, sPlusL],
    ]
    for (const [key, s] of cases) {
      expect(await nodeCrypto.verify(key, s, msg)).toBe(false)
      expect(await nobleCrypto.verify(key, s, msg)).toBe(false)
    }
  })

  it('[CRY4] both refuse small-order keys, which OpenSSL alone would accept', async () => {
    const identity = new Uint8Array(32)
    identity[0] = 1 // the neutral point: [S]B = R + [k]A holds for R = O, S = 0, any message
    const forged = Uint8Array.of(1, ...new Uint8Array(63))
    const msg = new TextEncoder().encode('anything')
    expect(isValidAuthorKey(identity)).toBe(false)
    expect(await nodeCrypto.verify(identity, forged, msg)).toBe(false)
    expect(await nobleCrypto.verify(identity, forged, msg)).toBe(false)
    const nonCanonical = new Uint8Array(32).fill(0xff)
    nonCanonical[31] = 0x7f // y = 2^255 - 1 ≥ p
    for (const key of [identity, nonCanonical, new Uint8Array(32)]) {
      for (const sig of [new Uint8Array(64), forged]) {
        expect(await nodeCrypto.verify(key, sig, msg)).toBe(await nobleCrypto.verify(key, sig, msg))
      }
    }
  })

  it('[CRY4b] both refuse an R with a torsion part (noble alone, cofactored, would accept)', async () => {
    const { Point } = ed25519
    const n = Point.Fn.ORDER
    const gen = prng.create(SEED + 2)
    const scalar = () => Point.Fn.create(bytesToNumberLE(prng.uint8Array(gen, 64)))
    const torsion = Point.fromBytes(new Uint8Array(32), false) // y = 0: a point of order 4
    const msg = new TextEncoder().encode('crafted by the author itself')
    for (const withTorsion of [false, true]) {
      const a = scalar()
      const r = scalar()
      const A = Point.BASE.multiply(a).toBytes()
      const R = Point.BASE.multiply(r)
        .add(withTorsion ? torsion : Point.ZERO)
        .toBytes()
      const k = Point.Fn.create(bytesToNumberLE(sha512(concatBytes(R, A, msg))))
      const S = leBytes((r + k * a) % n, 32)
      const sig = concatBytes(R, S)
      expect(ed25519.verify(sig, msg, A)).toBe(true) // noble's default, cofactored
      expect(await nodeCrypto.verify(A, sig, msg)).toBe(!withTorsion)
      expect(await nobleCrypto.verify(A, sig, msg)).toBe(!withTorsion)
    }
  })

  it('[CRY8] an R of small order that satisfies the equation: libsodium alone refuses, both accept', async () => {
    // The author itself can sign with R = O (the neutral point): S = k·a makes [S]B = R + [k]A.
    // OpenSSL (Parley's rule) and Parley's noble check accept it; libsodium, asked first on Node
    // for speed, refuses any small-order R — so its "no" must not be the last word.
    const { Point } = ed25519
    const gen = prng.create(SEED + 4)
    const a = Point.Fn.create(bytesToNumberLE(prng.uint8Array(gen, 64)))
    const A = Point.BASE.multiply(a).toBytes()
    const R = Point.ZERO.toBytes()
    const msg = new TextEncoder().encode('signed with the neutral point')
    const k = Point.Fn.create(bytesToNumberLE(sha512(concatBytes(R, A, msg))))
    const sig = concatBytes(R, leBytes((k * a) % L, 32))
    expect(sodium.crypto_sign_verify_detached(sig, msg, A)).toBe(false)
    expect(await nobleCrypto.verify(A, sig, msg)).toBe(true)
    expect(await nodeCrypto.verify(A, sig, msg)).toBe(true)
    expect(await nodeCrypto.verify(A, sig, msg.subarray(1))).toBe(false)
  })

  it('[CRY7] differential: node and noble agree on 500 random mutations of valid signatures', async () => {
    const gen = prng.create(SEED + 3)
    const { secretKey, publicKey } = generateDeviceKey()
    const signer = createNobleSigner(secretKey)
    for (let i = 0; i < 500; i++) {
      const msg = prng.uint8Array(gen, prng.uint32(gen, 0, 64))
      const sig = await signer.sign(msg)
      const key = publicKey.slice()
      const target = prng.oneOf(gen, [sig, key, msg])
      if (target.length > 0) {
        const at = prng.uint32(gen, 0, target.length - 1)
        target[at] = (target[at] ?? 0) ^ (1 << prng.uint32(gen, 0, 7))
      }
      expect(await nodeCrypto.verify(key, sig, msg)).toBe(await nobleCrypto.verify(key, sig, msg))
    }
  })

  it('[CRY5] the key cache keeps working past its size', async () => {
    const c = createNodeCrypto({ keyCacheSize: 2 })
    const keys = Array.from({ length: 5 }, () => generateDeviceKey())
    const msg = new Uint8Array([7])
    for (let round = 0; round < 3; round++) {
      for (const k of keys) {
        const sig = await createNobleSigner(k.secretKey).sign(msg)
        expect(await c.verify(k.publicKey, sig, msg)).toBe(true)
      }
    }
  })

  it('[CRY6] rejects secret keys of the wrong length', () => {
    expect(() => createNodeSigner(new Uint8Array(31))).toThrow(RangeError)
    expect(() => createNobleSigner(new Uint8Array(64))).toThrow(RangeError)
  })
})
