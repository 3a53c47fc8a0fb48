/**
 * Noise's frame reader without an exception per read (src/net/noise.ts), on the library's
 * own decoder with Noise's own 2-byte length: the same frames out for any cut of the bytes into
 * reads, the same refusals, and no length read from an empty buffer; and its HKDF on Node.
 */
import { describe, expect, it } from 'vitest'
import { InvalidMessageLengthError, LengthPrefixedDecoder } from '@libp2p/utils'
import { framesWithoutThrows } from '../../src/net/noise.ts'

type List = Parameters<LengthPrefixedDecoder['decode']>[0]

/** Noise's length decoder (`@chainsafe/libp2p-noise`'s encoder.js), counting its calls. */
function noiseLength(): { read: (data: List) => number; calls: number; empty: number } {
  const c = {
    calls: 0,
    empty: 0,
    read(data: List): number {
      c.calls++
      if (data.byteLength === 0) c.empty++
      if (data.byteLength < 2) throw new RangeError('Could not decode int16BE')
      return data instanceof Uint8Array ? (data[0]! << 8) | data[1]! : data.getUint16(0)
    },
  }
  return c
}

function decoder(read: (data: List) => number, maxDataLength?: number): LengthPrefixedDecoder {
  framesWithoutThrows()
  return new LengthPrefixedDecoder({
    lengthDecoder: read,
    encodingLength: () => 2,
    maxBufferSize: 1 << 20,
    ...(maxDataLength === undefined ? {} : { maxDataLength }),
  })
}

/** Frames of 1…n bytes, each filled with its index, and their wire bytes (2-byte length first). */
function frames(n: number): { bodies: Uint8Array[]; wire: Uint8Array } {
  const bodies = Array.from({ length: n }, (_, i) => new Uint8Array(1 + ((i * 37) % 300)).fill(i))
  const wire = new Uint8Array(bodies.reduce((a, b) => a + 2 + b.length, 0))
  let at = 0
  for (const b of bodies) {
    wire[at] = b.length >> 8
    wire[at + 1] = b.length & 0xff
    wire.set(b, at + 2)
    at += 2 + b.length
  }
  return { bodies, wire }
}

describe('Noise frames without a throw per read', () => {
  it('[NOISEFR1] yields every frame once, in order, however the bytes are cut into reads', () => {
    const { bodies, wire } = frames(200)
    let seed = 7
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
    for (const maxRead of [1, 2, 3, 64, 1500, wire.length]) {
      const len = noiseLength()
      const d = decoder(len.read)
      const out: Uint8Array[] = []
      for (let at = 0; at < wire.length;) {
        const n = Math.min(wire.length - at, 1 + rand(maxRead))
        for (const f of d.decode(wire.subarray(at, at + n))) out.push(f.subarray())
        at += n
      }
      expect(out).toEqual(bodies)
      expect(len.empty).toBe(0)
    }
  })

  it('[NOISEFR2] reads whole frames with one length read each, none from an empty buffer', () => {
    const { wire } = frames(50)
    const len = noiseLength()
    const d = decoder(len.read)
    let n = 0
    for (const _ of d.decode(wire)) n++
    expect(n).toBe(50)
    expect(len).toMatchObject({ calls: 50, empty: 0 })
  })

  it('[NOISEFR3] refuses a length over the limit and a buffer over its bound, as the library does', () => {
    const len = noiseLength()
    const d = decoder(len.read, 100)
    expect(() => [...d.decode(Uint8Array.of(0, 101, 1, 2))]).toThrow(InvalidMessageLengthError)
    const big = decoder(noiseLength().read)
    expect(() => [...big.decode(new Uint8Array((1 << 20) + 1).fill(0xff))]).toThrow(
      /Buffer length limit exceeded/,
    )
  })
})

describe("Noise's HKDF by node:crypto", () => {
  it('[NOISEHK1] derives the keys the library derives, for any chaining key and input', async () => {
    const { pureJsCrypto } = await import('@chainsafe/libp2p-noise/crypto')
    const { nodeNoiseCrypto } = await import('../../src/net/noise-node.ts')
    for (let i = 0; i < 64; i++) {
      const ck = Uint8Array.from({ length: 32 }, (_, j) => (i * 31 + j * 7) & 0xff)
      // the handshake's inputs: 32-byte DH outputs, and the empty one of the final split
      const ikm = Uint8Array.from({ length: i % 2 === 0 ? 32 : 0 }, (_, j) => (i + j * 13) & 0xff)
      const ours = nodeNoiseCrypto.getHKDF(ck, ikm)
      expect(ours.map((k) => k.length)).toEqual([32, 32, 32])
      expect(ours).toEqual(pureJsCrypto.getHKDF(ck, ikm))
    }
  })
})

describe("Noise's X25519 by libsodium", () => {
  it('[NOISEHK2] makes the key pairs and shared secrets the library makes; refuses a low-order key', async () => {
    const { pureJsCrypto, defaultCrypto } = await import('@chainsafe/libp2p-noise/crypto')
    const { nodeNoiseCrypto: ours } = await import('../../src/net/noise-node.ts')
    const u8 = (b: Uint8Array): Uint8Array => Uint8Array.from(b)
    for (let i = 0; i < 32; i++) {
      const a = ours.generateX25519KeyPair()
      const b = defaultCrypto.generateX25519KeyPair()
      expect(a.publicKey).toEqual(
        pureJsCrypto.generateX25519KeyPairFromSeed(a.privateKey).publicKey,
      )
      expect(u8(ours.generateX25519KeyPairFromSeed(b.privateKey).publicKey)).toEqual(
        u8(b.publicKey),
      )
      const shared = ours.generateX25519SharedKey(a.privateKey, b.publicKey)
      expect(u8(shared)).toEqual(
        u8(pureJsCrypto.generateX25519SharedKey(a.privateKey, b.publicKey)),
      )
      expect(u8(shared)).toEqual(
        u8(defaultCrypto.generateX25519SharedKey(b.privateKey, a.publicKey)),
      )
    }
    // the identity point (u = 0) and a point of order 8 give an all-zero secret: no handshake
    const lowOrder = [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]
    const { privateKey } = ours.generateX25519KeyPair()
    for (const p of lowOrder) expect(() => ours.generateX25519SharedKey(privateKey, p)).toThrow()
  })
})
