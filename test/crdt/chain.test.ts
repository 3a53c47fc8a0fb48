import { describe, expect, it } from 'vitest'
import * as encoding from 'lib0/encoding'
import { createNobleSigner, generateDeviceKey, nobleCrypto } from '../../src/crdt/crypto.ts'
import {
  ChainWriter,
  verifyBackward,
  verifyForward,
  type VerifiedEntry,
} from '../../src/crdt/chain.ts'
import {
  META_PERIOD,
  ZERO_HASH,
  periodOf,
  signHead,
  type SignedHead,
} from '../../src/crdt/entry.ts'
import { createClock } from '../../src/crdt/hlc.ts'

const T0 = 1_764_000_000_000
const crypto = nobleCrypto

function setup(room = 'general', n = 10) {
  const key = generateDeviceKey()
  const signer = createNobleSigner(key.secretKey)
  let t = T0
  const clock = createClock(() => (t += 1_000_000)) // ~17 min per write: crosses periods
  const writer = new ChainWriter({ room, signer, crypto, clock })
  const chain: VerifiedEntry[] = []
  for (let i = 0; i < n; i++) chain.push(writer.append(Uint8Array.of(i + 1, 0xaa)))
  return { signer, writer, chain, bytes: chain.map((v) => v.bytes) }
}

async function headAt(
  signer: ReturnType<typeof createNobleSigner>,
  v: VerifiedEntry,
): Promise<SignedHead> {
  return signHead(signer, v.entry.room, v.entry.seq, v.hash)
}

function expectBroken(f: () => unknown, reason: string, index?: number): void {
  try {
    f()
  } catch (err) {
    const e = err as Error & { reason: string; index: number }
    expect(e.name).toBe('BrokenChainError')
    expect(e.reason).toBe(reason)
    if (index !== undefined) expect(e.index).toBe(index)
    return
  }
  expect.fail(`expected BrokenChainError (${reason})`)
}

async function expectRejects(p: Promise<unknown>, name: string): Promise<Error> {
  try {
    await p
  } catch (err) {
    expect((err as Error).name).toBe(name)
    return err as Error
  }
  return expect.fail(`expected ${name}`)
}

describe('ChainWriter', () => {
  it('[CHN1] links seqs and hashes, stamps increasing hlcs, tracks periods', () => {
    const { chain, writer } = setup()
    chain.forEach((v, i) => {
      expect(v.entry.seq).toBe(i + 1)
      expect(v.hash).toEqual(crypto.sha256(v.bytes))
      expect(v.entry.prev).toEqual(i === 0 ? ZERO_HASH : chain[i - 1]?.hash)
      expect(v.entry.period).toBe(periodOf(v.entry.hlc.wall))
      if (i > 0) expect(v.entry.hlc.wall).toBeGreaterThan(chain[i - 1]?.entry.hlc.wall ?? 0)
    })
    expect(writer.tip).toEqual({ seq: 10, hash: chain[9]?.hash })
    expect(writer.append(Uint8Array.of(1), { meta: true }).entry.period).toBe(META_PERIOD)
  })

  it('[CHN2] resumes a chain, stamping after its last hlc even when the clock is far behind', () => {
    const { chain, signer } = setup('general', 3)
    const last = chain[2]!
    const future = { wall: T0 + 10 * 86_400_000, count: 4 } // beyond what the clock accepts
    const writer = new ChainWriter({
      room: 'general',
      signer,
      crypto,
      clock: createClock(() => T0),
      tip: { seq: 3, hash: last.hash },
      lastHlc: future,
    })
    const next = writer.append(Uint8Array.of(9))
    expect(next.entry.seq).toBe(4)
    expect(next.entry.prev).toEqual(last.hash)
    expect(next.entry.hlc).toEqual({ wall: future.wall, count: 5 })
    expect(writer.append(Uint8Array.of(9)).entry.hlc).toEqual({ wall: future.wall, count: 6 })
  })

  it('[CHN3] an empty update is refused and leaves the tip alone', async () => {
    const { writer } = setup('general', 2)
    const tip = writer.tip
    expect(() => writer.append(new Uint8Array(0))).toThrow(
      expect.objectContaining({ name: 'MalformedEntryError' }),
    )
    expect(writer.tip).toEqual(tip)
    const head = await writer.signHead()
    expect(head.seq).toBe(2)
  })
})

describe('verifyBackward', () => {
  it('[CHN4] verifies a whole chain newest first, and in batches', async () => {
    const { chain, bytes, signer } = setup()
    const head = await headAt(signer, chain[9]!)
    const all = verifyBackward(crypto, head, bytes.toReversed())
    expect(all.verified.map((v) => v.entry.seq)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
    expect(all.nextExpected.seq).toBe(0)
    expect(all.nextExpected.hash).toEqual(ZERO_HASH)
    const first = verifyBackward(crypto, head, bytes.slice(6).toReversed())
    expect(first.nextExpected.seq).toBe(6)
    const rest = verifyBackward(crypto, first.nextExpected, bytes.slice(0, 6).toReversed())
    expect(rest.verified.map((v) => v.entry.seq)).toEqual([6, 5, 4, 3, 2, 1])
    expect(verifyBackward(crypto, head, []).nextExpected.seq).toBe(10)
  })

  it('[CHN5] a reordered, skipped or duplicated entry breaks the chain at its index', async () => {
    const { chain, bytes, signer } = setup()
    const head = await headAt(signer, chain[9]!)
    const desc = bytes.toReversed()
    const swap = [...desc]
    ;[swap[3], swap[4]] = [swap[4]!, swap[3]!]
    expectBroken(() => verifyBackward(crypto, head, swap), 'hash', 3)
    expectBroken(() => verifyBackward(crypto, head, desc.toSpliced(5, 1)), 'hash', 5)
    expectBroken(() => verifyBackward(crypto, head, desc.toSpliced(5, 0, desc[5]!)), 'hash', 6)
    expectBroken(() => verifyBackward(crypto, head, [...desc, desc[9]!]), 'seq', 10)
    // the prefix before the failure verifies on its own
    expect(verifyBackward(crypto, head, swap.slice(0, 3)).verified).toHaveLength(3)
  })

  it('[CHN6] any flipped byte of any entry is detected', async () => {
    const { chain, bytes, signer } = setup('general', 3)
    const head = await headAt(signer, chain[2]!)
    const desc = bytes.toReversed()
    desc.forEach((b, i) => {
      for (let at = 0; at < b.length; at++) {
        const bad = b.slice()
        bad[at] = (bad[at] ?? 0) ^ 0x01
        expectBroken(() => verifyBackward(crypto, head, desc.toSpliced(i, 1, bad)), 'hash', i)
      }
    })
  })

  it('[CHN7] entries of another room or author do not pass for the anchor, even with matching hashes', async () => {
    const { chain, bytes, signer } = setup('general', 2)
    const head = await headAt(signer, chain[1]!)
    expectBroken(
      () => verifyBackward(crypto, { ...head, room: 'random' }, bytes.toReversed()),
      'room',
      0,
    )
    const other = generateDeviceKey().publicKey
    expectBroken(
      () => verifyBackward(crypto, { ...head, author: other }, bytes.toReversed()),
      'author',
      0,
    )
    expectBroken(() => verifyBackward(crypto, { ...head, seq: 3 }, bytes.toReversed()), 'seq', 0)
  })

  it('[CHN8] bytes that hash right but do not decode are "malformed"', async () => {
    const { signer } = setup('general', 0)
    const enc = encoding.createEncoder()
    encoding.writeUint8(enc, 9) // unknown version
    encoding.writeUint8Array(enc, new Uint8Array(100))
    const garbage = encoding.toUint8Array(enc)
    const head = await signHead(signer, 'general', 1, crypto.sha256(garbage))
    expectBroken(() => verifyBackward(crypto, head, [garbage]), 'malformed', 0)
  })
})

describe('verifyForward', () => {
  it('[CHN9] accepts a push from an empty chain and from a tip; forged heads are refused', async () => {
    const { chain, bytes, signer } = setup()
    const head = await headAt(signer, chain[9]!)
    const all = await verifyForward(crypto, { seq: 0, hash: ZERO_HASH }, bytes, head)
    expect(all.map((v) => v.entry.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    const tail = await verifyForward(crypto, { seq: 7, hash: chain[6]!.hash }, bytes.slice(7), head)
    expect(tail.map((v) => v.entry.seq)).toEqual([8, 9, 10])
    const mallory = createNobleSigner(generateDeviceKey().secretKey)
    const forged = { ...(await headAt(mallory, chain[9]!)), author: head.author }
    await expectRejects(
      verifyForward(crypto, { seq: 7, hash: chain[6]!.hash }, bytes.slice(7), forged),
      'InvalidSignatureError',
    )
  })

  it('[CHN10] a gap is a ChainGapError saying what is missing', async () => {
    const { chain, bytes, signer } = setup()
    const head = await headAt(signer, chain[9]!)
    const err = (await expectRejects(
      verifyForward(crypto, { seq: 3, hash: chain[2]!.hash }, bytes.slice(6), head),
      'ChainGapError',
    )) as Error & { have: number; from: number }
    expect([err.have, err.from]).toEqual([3, 7])
  })

  it('[CHN11] overlap with what we hold is dropped; a different entry at our tip is a fork', async () => {
    const { chain, bytes, signer } = setup()
    const head = await headAt(signer, chain[9]!)
    const fresh = await verifyForward(
      crypto,
      { seq: 8, hash: chain[7]!.hash },
      bytes.slice(4),
      head,
    )
    expect(fresh.map((v) => v.entry.seq)).toEqual([9, 10])
    const wrong = crypto.sha256(Uint8Array.of(1))
    const e1 = await expectRejects(
      verifyForward(crypto, { seq: 8, hash: wrong }, bytes.slice(4), head),
      'BrokenChainError',
    )
    expect((e1 as Error & { reason: string }).reason).toBe('fork')
    const e2 = await expectRejects(
      verifyForward(crypto, { seq: 9, hash: wrong }, bytes.slice(9), head),
      'BrokenChainError',
    )
    expect((e2 as Error & { reason: string; index: number }).index).toBe(0)
    // a head we already have, or an older one: nothing new
    expect(await verifyForward(crypto, { seq: 10, hash: chain[9]!.hash }, [], head)).toEqual([])
    expect(await verifyForward(crypto, { seq: 12, hash: wrong }, bytes.slice(9), head)).toEqual([])
    await expectRejects(
      verifyForward(crypto, { seq: 10, hash: wrong }, [], head),
      'BrokenChainError',
    )
  })

  it('[CHN12] reordered, skipped or duplicated pushed entries are refused, index in push order', async () => {
    const { chain, bytes, signer } = setup()
    const head = await headAt(signer, chain[9]!)
    const base = { seq: 5, hash: chain[4]!.hash }
    const asc = bytes.slice(5) // seqs 6..10
    const swapped = [...asc]
    ;[swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!]
    for (const bad of [swapped, asc.toSpliced(2, 1), asc.toSpliced(2, 0, asc[2]!)]) {
      await expectRejects(verifyForward(crypto, base, bad, head), 'BrokenChainError')
    }
    const e = await expectRejects(verifyForward(crypto, base, swapped, head), 'BrokenChainError')
    expect((e as Error & { index: number }).index).toBe(2)
  })
})
