import { HANG_MS } from '../helpers/limits.ts'
import { describe, expect, it } from 'vitest'
import * as prng from 'lib0/prng'
import { createNobleSigner, generateDeviceKey, nobleCrypto } from '../../src/crdt/crypto.ts'
import { META_PERIOD, encodeEntry, periodOf, type SignedHead } from '../../src/crdt/entry.ts'
import {
  MAX_ENTRIES_BYTES,
  MAX_FRAME_BYTES,
  decodeFrame,
  encodeFrame,
  presenceMessage,
  type Frame,
  type Presence,
} from '../../src/crdt/wire.ts'
import { signPresence, verifyPresence } from '../../src/crdt/presence-sig.ts'
import { chunkEntries } from '../../src/crdt/entry-chunks.ts'
import { MAX_FRAME_BYTES as NET_MAX_FRAME_BYTES } from '../../src/net/index.ts'

const T0 = 1_764_000_000_000

function entryBytes(gen: prng.PRNG, room: string, size = prng.uint32(gen, 1, 200)): Uint8Array {
  const seq = prng.uint32(gen, 2, 1000)
  return encodeEntry({
    room,
    author: prng.uint8Array(gen, 32),
    seq,
    prev: prng.uint8Array(gen, 32),
    hlc: { wall: T0, count: 0 },
    period: periodOf(T0),
    update: prng.uint8Array(gen, size),
  })
}

function head(gen: prng.PRNG, room: string): SignedHead {
  return {
    room,
    author: prng.uint8Array(gen, 32),
    seq: prng.uint32(gen, 1, 2 ** 31),
    hash: prng.uint8Array(gen, 32),
    sig: prng.uint8Array(gen, 64),
  }
}

/** One random, valid frame of each type. */
function frames(gen: prng.PRNG): Frame[] {
  const room = prng.oneOf(gen, ['general', 'a', 'dev-ops.2026'])
  const digests = Array.from({ length: prng.uint32(gen, 0, 5) }, (_, i) => ({
    room: `room-${i}`,
    digest: prng.uint8Array(gen, 32),
  }))
  const entries = Array.from({ length: prng.uint32(gen, 0, 4) }, () => entryBytes(gen, room))
  return [
    { type: 'digest', sender: '12D3KooWSender', rooms: digests },
    { type: 'digest-reply', rooms: digests.slice(1) },
    {
      type: 'pull',
      room,
      have: Array.from({ length: prng.uint32(gen, 0, 5) }, () => ({
        author: prng.uint8Array(gen, 32),
        seq: prng.uint32(gen, 0, 1e6),
      })),
    },
    {
      type: 'heads',
      room,
      heads: Array.from({ length: prng.uint32(gen, 0, 4) }, () => head(gen, room)),
    },
    { type: 'entries', room, period: prng.bool(gen) ? META_PERIOD : periodOf(T0), entries },
    { type: 'end', room },
    { type: 'push', room, head: head(gen, room), entries },
    {
      type: 'presence',
      author: prng.uint8Array(gen, 32),
      peer: '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK',
      name: prng.utf16String(gen, 20),
      status: prng.oneOf(gen, ['online', 'away', 'offline'] as const),
      wall: T0,
      seq: prng.uint32(gen, 0, 1e6),
      sig: prng.uint8Array(gen, 64),
    },
    { type: 'error', code: 'not-held', message: prng.utf16String(gen, 50) },
    {
      type: 'announce',
      sender: '12D3KooWSender',
      room,
      have: Array.from({ length: prng.uint32(gen, 0, 5) }, () => ({
        author: prng.uint8Array(gen, 32),
        seq: prng.uint32(gen, 0, 1e6),
      })),
    },
  ]
}

function expectMalformed(f: () => unknown): void {
  try {
    f()
  } catch (err) {
    expect((err as Error).name).toBe('MalformedFrameError')
    return
  }
  expect.fail('expected a MalformedFrameError')
}

/** One random corruption of `b`: flip, overwrite, insert, delete, truncate, extend or 0xff-fill. */
function mutate(gen: prng.PRNG, b: Uint8Array): Uint8Array {
  const at = prng.uint32(gen, 0, Math.max(0, b.length - 1))
  const out = Array.from(b)
  switch (prng.uint32(gen, 0, 6)) {
    case 0:
      out[at] = (out[at] ?? 0) ^ (1 << prng.uint32(gen, 0, 7))
      break
    case 1:
      out[at] = prng.uint32(gen, 0, 255)
      break
    case 2:
      out.splice(at, 0, ...prng.uint8Array(gen, prng.uint32(gen, 1, 8)))
      break
    case 3:
      out.splice(at, prng.uint32(gen, 1, 8))
      break
    case 4:
      out.length = at
      break
    case 5:
      out.push(...prng.uint8Array(gen, prng.uint32(gen, 1, 8)))
      break
    default:
      out.splice(at, 4, 0xff, 0xff, 0xff, 0xff)
  }
  return Uint8Array.from(out)
}

describe('wire frames', () => {
  it('[WIRE1] every frame type round trips; type byte then version byte', () => {
    const gen = prng.create(11)
    for (let i = 0; i < 200; i++) {
      frames(gen).forEach((f, t) => {
        const bytes = encodeFrame(f)
        expect(bytes[0]).toBe(t + 1)
        expect(bytes[1]).toBe(1)
        // presence names may hold lone surrogates: UTF-8 turns them into U+FFFD, once
        const back = decodeFrame(bytes)
        expect(encodeFrame(back)).toEqual(bytes)
        if (f.type !== 'presence' && f.type !== 'error') expect(back).toEqual(f)
      })
    }
  })

  it('[WIRE2] MAX_FRAME_BYTES is 3 MiB, the same as the net layer', () => {
    expect(MAX_FRAME_BYTES).toBe(3 * 1024 * 1024)
    expect(MAX_FRAME_BYTES).toBe(NET_MAX_FRAME_BYTES)
  })

  it('[WIRE3] encode refuses what decode would refuse', () => {
    const gen = prng.create(12)
    const h = head(gen, 'general')
    const e = entryBytes(gen, 'general')
    const bad: Frame[] = [
      { type: 'end', room: 'General' },
      { type: 'digest', sender: 'p', rooms: [{ room: 'a', digest: new Uint8Array(31) }] },
      {
        type: 'digest',
        sender: 'p',
        rooms: [
          { room: 'a', digest: new Uint8Array(32) },
          { room: 'a', digest: new Uint8Array(32) },
        ],
      },
      {
        type: 'digest',
        sender: 'p',
        rooms: Array.from({ length: 10_001 }, (_, i) => ({
          room: `r${i}`,
          digest: new Uint8Array(32),
        })),
      },
      { type: 'pull', room: 'general', have: [{ author: h.author, seq: -1 }] },
      {
        type: 'announce',
        sender: 'p',
        room: 'general',
        have: [
          { author: h.author, seq: 1 },
          { author: h.author, seq: 2 },
        ],
      },
      {
        type: 'pull',
        room: 'general',
        have: [
          { author: h.author, seq: 1 },
          { author: h.author, seq: 2 },
        ],
      },
      { type: 'heads', room: 'general', heads: [{ ...h, room: 'random' }] },
      { type: 'heads', room: 'general', heads: [{ ...h, seq: 0 }] },
      { type: 'heads', room: 'general', heads: [{ ...h, sig: h.sig.subarray(1) }] },
      { type: 'heads', room: 'general', heads: [h, { ...h, seq: 2 }] },
      { type: 'entries', room: 'general', period: -1, entries: [e] },
      { type: 'entries', room: 'general', period: 1, entries: [new Uint8Array(10)] },
      { type: 'push', room: 'general', head: h, entries: [new Uint8Array(3 * 1024 * 1024)] },
      { type: 'push', room: 'general', head: { ...h, room: 'x' }, entries: [e] },
      { type: 'error', code: 'Not Held', message: '' },
      { type: 'error', code: 'x', message: 'm'.repeat(1025) },
    ]
    for (const f of bad) expectMalformed(() => encodeFrame(f))
    const two = 2 * 1024 * 1024
    const big = [entryBytes(gen, 'general', two), entryBytes(gen, 'general', two)]
    expectMalformed(() =>
      encodeFrame({ type: 'entries', room: 'general', period: 1, entries: big }),
    )
  })

  it('[WIRE4] decode refuses unknown types and versions, trailing bytes, truncation, duplicates', () => {
    const bytes = encodeFrame({ type: 'end', room: 'general' })
    expectMalformed(() => decodeFrame(Uint8Array.of(0, ...bytes.subarray(1))))
    expectMalformed(() => decodeFrame(Uint8Array.of(10, ...bytes.subarray(1))))
    expectMalformed(() => decodeFrame(Uint8Array.of(bytes[0]!, 2, ...bytes.subarray(2))))
    expectMalformed(() => decodeFrame(Uint8Array.of(...bytes, 0)))
    for (let n = 0; n < bytes.length; n++) expectMalformed(() => decodeFrame(bytes.subarray(0, n)))
    const d = encodeFrame({
      type: 'digest-reply',
      rooms: [{ room: 'a', digest: new Uint8Array(32) }],
    })
    const dup = Uint8Array.of(d[0]!, d[1]!, 2, ...d.subarray(3), ...d.subarray(3))
    expectMalformed(() => decodeFrame(dup))
    expectMalformed(() => decodeFrame(new Uint8Array(MAX_FRAME_BYTES + 1)))
  })

  it('[WIRE5] counts that the input cannot hold fail before allocating', () => {
    // a heads frame claiming 100,000 heads in 12 bytes
    const f = encodeFrame({ type: 'heads', room: 'a', heads: [] })
    const lie = Uint8Array.of(...f.subarray(0, f.length - 1), 0xa0, 0x8d, 0x06)
    const t = performance.now()
    expectMalformed(() => decodeFrame(lie))
    expect(performance.now() - t).toBeLessThan(HANG_MS)
  })

  it('[WIRE6] fuzz: 10,000 random inputs and 10,000 mutations per frame type: only MalformedFrameError, no hang', () => {
    const gen = prng.create(0xf0f0)
    let worst = 0
    const attempt = (bytes: Uint8Array) => {
      const t = performance.now()
      try {
        decodeFrame(bytes)
      } catch (err) {
        if (!(err instanceof Error) || err.name !== 'MalformedFrameError') throw err
      }
      worst = Math.max(worst, performance.now() - t)
    }
    for (let i = 0; i < 10_000; i++) {
      const bytes = prng.uint8Array(gen, prng.uint32(gen, 0, 300))
      if (bytes.length > 2 && prng.bool(gen)) {
        bytes[0] = prng.uint32(gen, 1, 9) // a real type and version, to get into the bodies
        bytes[1] = 1
      }
      attempt(bytes)
    }
    const samples = Array.from({ length: 20 }, () => frames(gen).map(encodeFrame))
    for (let t = 0; t < 9; t++) {
      for (let i = 0; i < 10_000; i++) attempt(mutate(gen, prng.oneOf(gen, samples)[t]!))
    }
    expect(worst).toBeLessThan(HANG_MS)
  })
})

describe('entry chunks', () => {
  it('[WIRE8] chunkEntries keeps order and every chunk encodes under the frame cap', () => {
    const gen = prng.create(14)
    const sizes = [1, 900_000, 2 * 1024 * 1024, 300, 1_500_000, 1_500_000, 1_000_000, 5]
    const entries = sizes.map((s) => entryBytes(gen, 'general', s))
    const chunks = chunkEntries(entries)
    const flat = chunks.flat()
    expect(flat.length === entries.length && flat.every((e, i) => e === entries[i])).toBe(true)
    expect(chunks.length).toBeGreaterThan(2)
    for (const c of chunks) {
      const frame = encodeFrame({
        type: 'push',
        room: 'general',
        head: head(gen, 'general'),
        entries: c,
      })
      expect(frame.length).toBeLessThanOrEqual(MAX_FRAME_BYTES)
    }
    expect(chunkEntries([])).toEqual([])
    const small = chunkEntries(entries.slice(0, 1).concat(entries.slice(3, 4)), 400)
    expect(small.map((c) => c.length)).toEqual([1, 1])
    expect(() => chunkEntries(entries, 1000)).toThrow(RangeError)
    expect(MAX_ENTRIES_BYTES).toBeLessThan(MAX_FRAME_BYTES)
  })
})

describe('presence', () => {
  const key = generateDeviceKey()
  const signer = createNobleSigner(key.secretKey)
  const body: Omit<Presence, 'sig'> = {
    author: key.publicKey,
    peer: '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK',
    name: 'Ada',
    status: 'online',
    wall: T0,
    seq: 3,
  }

  it('[PRES1] signed presence verifies, through the wire too; any changed field does not', async () => {
    const sig = await signPresence(signer, body)
    const p: Presence = { ...body, sig }
    expect(await verifyPresence(nobleCrypto, p)).toBe(true)
    const f = decodeFrame(encodeFrame({ type: 'presence', ...p }))
    expect(f.type === 'presence' && (await verifyPresence(nobleCrypto, f))).toBe(true)
    for (const bad of [
      { ...p, name: 'Eve' },
      { ...p, status: 'away' as const },
      { ...p, wall: T0 + 1 },
      { ...p, seq: 4 },
      { ...p, peer: p.peer.slice(1) },
      { ...p, author: generateDeviceKey().publicKey },
      { ...p, sig: p.sig.subarray(1) },
      { ...p, name: 'x'.repeat(300) },
    ]) {
      expect(await verifyPresence(nobleCrypto, bad)).toBe(false)
    }
  })

  it('[PRES2] presenceMessage starts with its domain; signPresence signs only our own author', async () => {
    const msg = presenceMessage(body)
    expect(new TextDecoder().decode(msg.subarray(0, 18))).toBe('parley/presence/1\0')
    const other = createNobleSigner(generateDeviceKey().secretKey)
    await expect(signPresence(other, body)).rejects.toThrow(RangeError)
  })
})
