import { HANG_MS } from '../helpers/limits.ts'
import { describe, expect, it } from 'vitest'
import * as encoding from 'lib0/encoding'
import * as prng from 'lib0/prng'
import { createNobleSigner, generateDeviceKey, nobleCrypto } from '../../src/crdt/crypto.ts'
import {
  MAX_SEQ,
  MAX_UPDATE_BYTES,
  META_PERIOD,
  PERIOD_MS,
  ROOM_ID_RE,
  ZERO_HASH,
  authorFromId,
  authorId,
  decodeEntry,
  encodeEntry,
  entryAuthorOf,
  entrySeqOf,
  headMessage,
  isRoomId,
  periodOf,
  signHead,
  verifyHead,
  type Entry,
} from '../../src/crdt/entry.ts'

const T0 = 1_764_000_000_000
const gen0 = prng.create(7)
const AUTHOR = prng.uint8Array(gen0, 32)
const PREV = prng.uint8Array(gen0, 32)

function sample(over: Partial<Entry> = {}): Entry {
  const wall = over.hlc?.wall ?? T0
  return {
    room: 'general',
    author: AUTHOR,
    seq: 2,
    prev: PREV,
    hlc: { wall, count: 3 },
    period: periodOf(wall),
    update: Uint8Array.of(1, 2, 3),
    ...over,
  }
}

/** The version 1 layout without any checks, to build malformed entries. */
function raw(e: Entry, opts: { version?: number; tail?: number[] } = {}): Uint8Array {
  const enc = encoding.createEncoder()
  encoding.writeUint8(enc, opts.version ?? 1)
  encoding.writeVarString(enc, e.room)
  encoding.writeUint8Array(enc, e.author)
  encoding.writeVarUint(enc, e.seq)
  encoding.writeUint8Array(enc, e.prev)
  encoding.writeVarUint(enc, e.hlc.wall)
  encoding.writeVarUint(enc, e.hlc.count)
  encoding.writeVarUint(enc, e.period)
  encoding.writeVarUint8Array(enc, e.update)
  for (const b of opts.tail ?? []) encoding.writeUint8(enc, b)
  return encoding.toUint8Array(enc)
}

function randomEntry(gen: prng.PRNG): Entry {
  const wall = prng.int53(gen, 0, 2 ** 48 - 1)
  const seq = prng.bool(gen) ? 1 : prng.int53(gen, 2, MAX_SEQ)
  return {
    room: prng.oneOf(gen, ['a', 'general', 'x'.repeat(64), 'team-1.dev_ops', '0']),
    author: prng.uint8Array(gen, 32),
    seq,
    prev: seq === 1 ? new Uint8Array(32) : prng.uint8Array(gen, 32),
    hlc: { wall, count: prng.uint32(gen, 0, 0xffff_ffff) },
    period: prng.int32(gen, 0, 9) === 0 ? META_PERIOD : periodOf(wall),
    update: prng.uint8Array(gen, prng.uint32(gen, 1, 300)),
  }
}

function expectMalformed(f: () => unknown): void {
  try {
    f()
  } catch (err) {
    expect((err as Error).name).toBe('MalformedEntryError')
    return
  }
  expect.fail('expected a MalformedEntryError')
}

describe('entry codec', () => {
  it('[ENT1] round trips, deterministically, with version byte 1', () => {
    const gen = prng.create(1)
    for (let i = 0; i < 500; i++) {
      const e = randomEntry(gen)
      const bytes = encodeEntry(e)
      expect(bytes[0]).toBe(1)
      expect(decodeEntry(bytes)).toEqual(e)
      expect(encodeEntry(decodeEntry(bytes))).toEqual(bytes)
    }
  })

  it('[ENT2] periods: one UTC day each; the meta period is allowed', () => {
    expect(PERIOD_MS).toBe(86_400_000)
    expect(periodOf(0)).toBe(0)
    expect(periodOf(PERIOD_MS - 1)).toBe(0)
    expect(periodOf(PERIOD_MS)).toBe(1)
    expect(decodeEntry(encodeEntry(sample({ period: META_PERIOD }))).period).toBe(META_PERIOD)
  })

  it('[ENT3] every out-of-bounds field is refused, by encode and by decode', () => {
    const bad: Partial<Entry>[] = [
      { room: '' },
      { room: 'General' },
      { room: '-lead' },
      { room: 'x'.repeat(65) },
      { room: 'a b' },
      { room: 'abc\n' },
      { room: 'é' },
      { author: new Uint8Array(31) },
      { seq: 0 },
      { seq: MAX_SEQ + 1 },
      { seq: 1 }, // with a non-zero prev
      { prev: new Uint8Array(31) },
      { hlc: { wall: 2 ** 48, count: 0 } },
      { hlc: { wall: T0, count: 2 ** 32 } },
      { period: periodOf(T0) + 1 },
      { period: periodOf(T0) - 1 },
      { update: new Uint8Array(0) },
      { update: new Uint8Array(MAX_UPDATE_BYTES + 1) },
    ]
    for (const over of bad) {
      const e = sample(over)
      expectMalformed(() => encodeEntry(e))
      expectMalformed(() => decodeEntry(raw(e)))
    }
    // the largest update is fine
    expect(decodeEntry(encodeEntry(sample({ update: new Uint8Array(MAX_UPDATE_BYTES) }))).seq).toBe(
      2,
    )
  })

  it('[ENT4] wrong version, trailing bytes, truncation and non-canonical varuints are refused', () => {
    const e = sample()
    const good = raw(e)
    expect(decodeEntry(good)).toEqual(e)
    expectMalformed(() => decodeEntry(raw(e, { version: 2 })))
    expectMalformed(() => decodeEntry(raw(e, { version: 0 })))
    expectMalformed(() => decodeEntry(raw(e, { tail: [0] })))
    for (let n = 0; n < good.length; n++) expectMalformed(() => decodeEntry(good.subarray(0, n)))
    // seq 2 written as 0x82 0x00 instead of 0x02: same number, other bytes, other hash
    const at = 1 + 1 + e.room.length + 32
    expect(good[at]).toBe(2)
    const padded = Uint8Array.of(...good.subarray(0, at), 0x82, 0x00, ...good.subarray(at + 1))
    expectMalformed(() => decodeEntry(padded))
  })

  it('[ENT5] invalid UTF-8 in the room is refused', () => {
    const bytes = raw(sample({ room: 'ab' }))
    bytes[2] = 0xc3 // a lone lead byte
    expectMalformed(() => decodeEntry(bytes))
  })

  it('[ENT6] room ids', () => {
    for (const ok of ['a', '0', 'general', 'team-1.dev_ops', 'x'.repeat(64)]) {
      expect(isRoomId(ok)).toBe(true)
      expect(ROOM_ID_RE.test(ok)).toBe(true)
    }
    for (const no of ['', '.a', '_a', 'A', 'a/b', 'a\0', 'x'.repeat(65), 'abc\n', 42, null]) {
      expect(isRoomId(no)).toBe(false)
    }
  })

  it('[ENT7] entryAuthorOf reads the author without decoding', () => {
    const e = sample({ room: 'x'.repeat(64) })
    expect(entryAuthorOf(encodeEntry(e))).toEqual(e.author)
    expectMalformed(() => entryAuthorOf(new Uint8Array(10)))
    expectMalformed(() => entryAuthorOf(new Uint8Array(0)))
  })

  it('[ENT9] entrySeqOf reads the seq without decoding; a decodable entry always gives its own', () => {
    const gen = prng.create(0x5e9)
    for (let i = 0; i < 1_000; i++) {
      const e = randomEntry(gen)
      expect(entrySeqOf(encodeEntry(e))).toBe(e.seq)
      // whatever a mutation leaves: MalformedEntryError, or the seq decodeEntry reads too
      const m = mutate(gen, encodeEntry(e))
      let seq: number | undefined
      try {
        seq = decodeEntry(m).seq
      } catch {
        seq = undefined
      }
      if (seq !== undefined) expect(entrySeqOf(m)).toBe(seq)
      else
        try {
          entrySeqOf(m)
        } catch (err) {
          expect((err as Error).name).toBe('MalformedEntryError')
        }
    }
    expectMalformed(() => entrySeqOf(raw(sample()).subarray(0, 2 + 7 + 32)))
    expectMalformed(() => entrySeqOf(raw(sample({ seq: 0 }))))
    expectMalformed(() => entrySeqOf(new Uint8Array(0)))
  })

  it('[ENT8] fuzz: 10,000 random inputs and 10,000 mutations only ever give MalformedEntryError, fast', () => {
    const gen = prng.create(0xf022)
    let worst = 0
    let decoded = 0
    const attempt = (bytes: Uint8Array) => {
      const t = performance.now()
      try {
        decodeEntry(bytes)
        decoded++
      } catch (err) {
        if (!(err instanceof Error) || err.name !== 'MalformedEntryError') throw err
      }
      worst = Math.max(worst, performance.now() - t)
    }
    for (let i = 0; i < 10_000; i++) {
      const bytes = prng.uint8Array(gen, prng.uint32(gen, 0, 400))
      if (prng.bool(gen) && bytes.length > 2) {
        bytes[0] = 1 // get past the version byte
        bytes[1] = prng.uint32(gen, 0, 70)
      }
      attempt(bytes)
    }
    for (let i = 0; i < 10_000; i++) attempt(mutate(gen, encodeEntry(randomEntry(gen))))
    expect(worst).toBeLessThan(HANG_MS)
    expect(decoded).toBeGreaterThan(0) // some mutations (inside the update) stay valid
  })
})

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

describe('signed heads', () => {
  const { secretKey, publicKey } = generateDeviceKey()
  const signer = createNobleSigner(secretKey)
  const hash = nobleCrypto.sha256(Uint8Array.of(1))

  it('[HEAD1] headMessage is "parley/head/1\\0" ‖ room ‖ "\\0" ‖ varuint(seq) ‖ hash', () => {
    const msg = headMessage('general', 300, hash)
    const expected = Uint8Array.of(
      ...new TextEncoder().encode('parley/head/1\0general\0'),
      0xac,
      0x02,
      ...hash,
    )
    expect(msg).toEqual(expected)
  })

  it('[HEAD2] a signed head verifies; any changed field or a forged signature does not', async () => {
    const head = await signHead(signer, 'general', 5, hash)
    expect(head.author).toEqual(publicKey)
    expect(await verifyHead(nobleCrypto, head)).toBe(true)
    const other = generateDeviceKey()
    const forged = await signHead(createNobleSigner(other.secretKey), 'general', 5, hash)
    const flipped = head.sig.slice()
    flipped[10] = (flipped[10] ?? 0) ^ 1
    for (const bad of [
      { ...head, room: 'random' },
      { ...head, seq: 6 },
      { ...head, hash: nobleCrypto.sha256(Uint8Array.of(2)) },
      { ...head, author: other.publicKey },
      { ...head, sig: flipped },
      { ...forged, author: publicKey },
      { ...head, room: 'Not A Room' },
      { ...head, seq: 0 },
      { ...head, hash: hash.subarray(1) },
      { ...head, sig: head.sig.subarray(1) },
    ]) {
      expect(await verifyHead(nobleCrypto, bad)).toBe(false)
    }
  })

  it('[HEAD3] signHead refuses bad input', async () => {
    await expect(signHead(signer, 'general', 0, hash)).rejects.toThrow(RangeError)
    await expect(signHead(signer, 'Bad', 1, hash)).rejects.toThrow(RangeError)
    await expect(signHead(signer, 'general', 1, ZERO_HASH.subarray(1))).rejects.toThrow(RangeError)
  })
})

describe('author ids', () => {
  it('[AID1] 43 base64url characters, round trip', () => {
    const gen = prng.create(3)
    for (let i = 0; i < 500; i++) {
      const key = prng.uint8Array(gen, 32)
      const id = authorId(key)
      expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(authorFromId(id)).toEqual(key)
    }
    expect(authorId(new Uint8Array(32).fill(0xff))).toBe('_'.repeat(42) + '8')
  })

  it('[AID2] non-canonical or malformed ids are refused', () => {
    const id = authorId(new Uint8Array(32))
    expect(id).toBe('A'.repeat(43))
    for (const bad of [
      'A'.repeat(42) + 'B',
      'A'.repeat(42),
      'A'.repeat(44),
      id + '=',
      'A'.repeat(42) + '+',
    ]) {
      try {
        authorFromId(bad)
        expect.fail(`accepted ${bad}`)
      } catch (err) {
        expect((err as Error).name).toBe('InvalidAuthorIdError')
      }
    }
  })
})
