/**
 * The browser's crypto worker seam: `createOffloadCrypto` against the real worker side
 * (`serveHistoryCrypto`) over a real MessageChannel (structured clone and transfer as in a
 * browser), and against workers that die, hang or answer nonsense.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createNobleSigner, generateDeviceKey, nobleCrypto } from '../../src/crdt/crypto.ts'
import { ChainWriter, verifyBackward, verifyBackwardBatch } from '../../src/crdt/chain.ts'
import { signHead } from '../../src/crdt/entry.ts'
import { createClock } from '../../src/crdt/hlc.ts'
import {
  createOffloadCrypto,
  deferredPort,
  type CryptoPort,
  type OffloadCrypto,
} from '../../src/core/crypto-offload.ts'
import { channelWorker } from '../helpers/crypto-channel.ts'

/** A worker that takes requests and answers with `reply(request)` (or never, for undefined). */
function fakeWorker(reply: (req: { id: number }) => unknown): CryptoPort {
  const events = new EventTarget()
  return {
    postMessage(m) {
      const answer = reply(m as { id: number })
      if (answer !== undefined)
        queueMicrotask(() => events.dispatchEvent(new MessageEvent('message', { data: answer })))
    },
    addEventListener: (type: string, listener: (ev: MessageEvent) => void) =>
      events.addEventListener(type, listener as (ev: Event) => void),
    terminate: () => undefined,
  }
}

function chain(n: number, size = 300) {
  const signer = createNobleSigner(generateDeviceKey().secretKey)
  let t = 1_764_000_000_000
  const writer = new ChainWriter({
    room: 'general',
    signer,
    crypto: nobleCrypto,
    clock: createClock(() => (t += 60_000)),
  })
  const entries = Array.from({ length: n }, (_, i) => writer.append(new Uint8Array(size).fill(i)))
  return { signer, entries, bytes: entries.map((e) => e.bytes) }
}

describe('crypto off the main thread (createOffloadCrypto)', () => {
  let crypto: OffloadCrypto | undefined
  afterEach(() => crypto?.close())

  it('[OFF1] hashes and signature verdicts are nobleCrypto’s, computed by the worker', async () => {
    const w = channelWorker()
    crypto = createOffloadCrypto({ connect: () => w.port })
    const { signer, bytes, entries } = chain(300)
    const hashes = await crypto.sha256Many!(bytes)
    expect(hashes).toEqual(bytes.map((b) => nobleCrypto.sha256(b)))
    expect(w.requests()).toBe(1)
    // a small batch is not worth a round trip
    expect(await crypto.sha256Many!(bytes.slice(0, 2))).toEqual(hashes.slice(0, 2))
    expect(w.requests()).toBe(1)

    const head = await signHead(signer, 'general', 300, entries[299]!.hash)
    const msg = new TextEncoder().encode('presence')
    const sig = await signer.sign(msg)
    const forged = sig.slice()
    forged[5]! ^= 1
    const smallOrderKey = new Uint8Array(32).fill(0) // the identity point: refused
    smallOrderKey[0] = 1
    for (const [key, s, m] of [
      [signer.publicKey, sig, msg],
      [signer.publicKey, forged, msg],
      [smallOrderKey, sig, msg],
      [signer.publicKey, sig.subarray(0, 10), msg],
    ] as const)
      expect(await crypto.verify(key, s, m)).toBe(await nobleCrypto.verify(key, s, m))
    expect(w.requests()).toBe(5)
    expect(crypto.mode).toBe('worker')

    // the chain verdict is the same, for a good chain and for one with a flipped byte
    const desc = bytes.toReversed()
    const anchor = { room: 'general', author: signer.publicKey, seq: head.seq, hash: head.hash }
    const batch = await verifyBackwardBatch(crypto, anchor, desc)
    expect(batch.verified.map((v) => v.hash)).toEqual(
      verifyBackward(nobleCrypto, anchor, desc).verified.map((v) => v.hash),
    )
    const broken = desc.map((b, i) =>
      i === 120 ? Uint8Array.from(b, (x, j) => (j === 50 ? x ^ 1 : x)) : b,
    )
    const err = await verifyBackwardBatch(crypto, anchor, broken).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'BrokenChainError', reason: 'hash', index: 120 })
  })

  it('[OFF2] a worker that dies: what it had and everything after is done in-thread', async () => {
    const w = channelWorker()
    crypto = createOffloadCrypto({ connect: () => w.port })
    const { bytes } = chain(200)
    const expected = bytes.map((b) => nobleCrypto.sha256(b))
    const inFlight = crypto.sha256Many!(bytes)
    w.die()
    expect(await inFlight).toEqual(expected)
    expect(crypto.mode).toBe('in-thread')
    expect(await crypto.sha256Many!(bytes)).toEqual(expected)
  })

  it('[OFF3] a worker that never answers times out to in-thread, not a hang', async () => {
    crypto = createOffloadCrypto({ connect: () => fakeWorker(() => undefined), timeoutMs: 300 })
    const { bytes, signer } = chain(100)
    const msg = Uint8Array.of(1, 2, 3)
    const [hashes, ok] = await Promise.all([
      crypto.sha256Many!(bytes),
      crypto.verify(signer.publicKey, await signer.sign(msg), msg),
    ])
    expect(hashes).toEqual(bytes.map((b) => nobleCrypto.sha256(b)))
    expect(ok).toBe(true)
    expect(crypto.mode).toBe('in-thread')
  })

  it('[OFF4] nonsense or an error from the worker falls back; a worker that cannot start too', async () => {
    const { bytes, signer } = chain(100)
    const expected = bytes.map((b) => nobleCrypto.sha256(b))
    for (const reply of [
      (r: { id: number }) => ({ id: r.id, hashes: new ArrayBuffer(32) }), // too few hashes
      (r: { id: number }) => ({ id: r.id, error: 'RangeError: boom' }),
      (r: { id: number }) => ({ id: r.id, ok: 'yes' }),
    ]) {
      const c = createOffloadCrypto({ connect: () => fakeWorker(reply) })
      expect(await c.sha256Many!(bytes)).toEqual(expected)
      expect(c.mode).toBe('in-thread')
    }
    const lying = createOffloadCrypto({ connect: () => fakeWorker((r) => ({ id: r.id, ok: 1 })) })
    const msg = Uint8Array.of(9)
    expect(await lying.verify(signer.publicKey, await signer.sign(msg), msg)).toBe(true)
    expect(lying.mode).toBe('in-thread')
    crypto = createOffloadCrypto({
      connect: () => {
        throw new Error('Worker is not defined')
      },
    })
    expect(crypto.mode).toBe('in-thread')
    expect(await crypto.sha256Many!(bytes)).toEqual(expected)
  })

  it('[OFF5] a deferred worker starts at its first request or at start(), not before; one that cannot start leaves the work in-thread', async () => {
    const { bytes } = chain(100)
    const expected = bytes.map((b) => nobleCrypto.sha256(b))
    let made = 0
    const w = channelWorker()
    const lazy = deferredPort(() => (made++, w.port))
    crypto = createOffloadCrypto({ connect: () => lazy })
    expect(made).toBe(0)
    expect(await crypto.sha256Many!(bytes)).toEqual(expected)
    expect([made, w.requests()]).toEqual([1, 1])
    lazy.start()
    expect(made).toBe(1)
    crypto.close()

    const w2 = channelWorker()
    let made2 = 0
    const started = deferredPort(() => (made2++, w2.port))
    crypto = createOffloadCrypto({ connect: () => started })
    started.start()
    expect(made2).toBe(1)
    expect(await crypto.sha256Many!(bytes)).toEqual(expected)
    expect([made2, w2.requests(), crypto.mode]).toEqual([1, 1, 'worker'])
    crypto.close()

    const broken = deferredPort(() => {
      throw new Error('Worker is not defined')
    })
    crypto = createOffloadCrypto({ connect: () => broken })
    expect(await crypto.sha256Many!(bytes)).toEqual(expected)
    expect(crypto.mode).toBe('in-thread')
  })
})
