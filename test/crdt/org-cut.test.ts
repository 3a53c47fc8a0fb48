/**
 * Revocation cut records (src/crdt/org-cut.ts): encoding, bounds, and the cut each revoked user
 * resolves to.
 */
import { describe, expect, it } from 'vitest'
import { nobleCrypto } from '../../src/crdt/crypto.ts'
import { compareBytes } from '../../src/crdt/entry.ts'
import {
  MAX_CUT_RECORD_BYTES,
  MAX_ORG_RECORD_BYTES,
  decodeOrgRecord,
  signRecord,
  verifyRecordSig,
  type Revocation,
  type RevocationCut,
} from '../../src/crdt/org-records.ts'
import { cutRoomsOf, type CutHead, type CutRoom } from '../../src/crdt/org-cut.ts'
import { resolveOrg } from '../../src/crdt/org-state.ts'
import { decodeKeyRecord, encodeKeyRecord, newEpoch } from '../../src/crdt/e2ee.ts'
import { recordOfText, recordText } from '../../src/crdt/org-entry.ts'
import { T0, certify, makeOrg, newSigner, revoke, type TestOrg } from '../helpers/org.ts'
import type { DeviceSigner } from '../../src/crdt/crypto.ts'

const head = (key: Uint8Array, seq: number, fill = seq): CutHead => ({
  key,
  seq,
  hash: new Uint8Array(32).fill(fill),
  sig: new Uint8Array(64).fill(fill),
})

function cutOf(
  o: TestOrg,
  issuer: DeviceSigner,
  userId: string,
  at: number,
  rooms: CutRoom[],
): Promise<RevocationCut> {
  return signRecord<RevocationCut>(issuer, {
    kind: 'cut',
    org: o.org,
    userId,
    at,
    issuer: issuer.publicKey,
    rooms,
  })
}

function revokeWithCut(
  o: TestOrg,
  issuer: DeviceSigner,
  userId: string,
  at: number,
  cut: RevocationCut,
): Promise<Revocation> {
  return signRecord<Revocation>(issuer, {
    kind: 'revoke',
    org: o.org,
    userId,
    at,
    issuer: issuer.publicKey,
    cut: cut.sig,
  })
}

const nameOf = (f: () => unknown): string => {
  try {
    f()
  } catch (err) {
    return (err as Error).name
  }
  return 'no error'
}

describe('revocation cut records', () => {
  it('[CUTR1] a cut and a revocation naming it round-trip (also as sys.org text) and verify; a plain revocation still decodes without a cut', async () => {
    const o = await makeOrg()
    const bob = newSigner()
    const rooms = cutRoomsOf(
      new Map([
        ['general', [head(bob.publicKey, 7)]],
        ['quiet', []],
      ]),
    ).rooms
    const cut = await cutOf(o, o.rootSigner, 'bob', T0 + 5, rooms)
    const rev = await revokeWithCut(o, o.rootSigner, 'bob', T0 + 5, cut)
    for (const r of [cut, rev]) {
      expect(decodeOrgRecord(r.bytes)).toEqual(r)
      expect(recordOfText(recordText(r))).toEqual(r)
      expect(await verifyRecordSig(nobleCrypto, decodeOrgRecord(r.bytes))).toBe(true)
    }
    expect(rev.bytes[1]).toBe(7)
    const plain = await revoke(o, o.rootSigner, 'bob', T0 + 5)
    expect(plain.bytes[1]).toBe(4)
    expect(decodeOrgRecord(plain.bytes)).not.toHaveProperty('cut')
  })

  it('[CUTR2] out-of-order rooms or heads, seq 0, a cut too large, a plain record above 640 bytes: MalformedOrgRecordError', async () => {
    const o = await makeOrg()
    const [k1, k2] = [newSigner().publicKey, newSigner().publicKey].sort(compareBytes)
    const bad = [
      [
        { room: 'b', heads: [] },
        { room: 'a', heads: [] },
      ],
      [{ room: 'a', heads: [head(k2!, 1), head(k1!, 1)] }],
      [{ room: 'a', heads: [head(k1!, 0)] }],
    ]
    for (const rooms of bad)
      await expect(cutOf(o, o.rootSigner, 'bob', T0, rooms)).rejects.toThrow('Malformed')
    // a held set too large for one record leaves rooms out (they keep the clock rule)
    const many = new Map<string, CutHead[]>()
    for (let i = 0; i < 400; i++) many.set(`room-${i}`, [head(k1!, i + 1)])
    const { rooms, left } = cutRoomsOf(many)
    expect(left.length).toBeGreaterThan(0)
    const big = await cutOf(o, o.rootSigner, 'bob', T0, rooms)
    expect(big.bytes.length).toBeLessThanOrEqual(MAX_CUT_RECORD_BYTES)
    expect(decodeOrgRecord(big.bytes)).toEqual(big)
    const over = new Uint8Array(MAX_CUT_RECORD_BYTES + 1)
    over.set(big.bytes.subarray(0, 2))
    expect(nameOf(() => decodeOrgRecord(over))).toBe('MalformedOrgRecordError')
    const plainOver = new Uint8Array(MAX_ORG_RECORD_BYTES + 1)
    plainOver.set([1, 4])
    expect(nameOf(() => decodeOrgRecord(plainOver))).toBe('MalformedOrgRecordError')
  })

  it('[CUTR3] a revoked user: cut pending until its record is known; a cut by another issuer or for another user does not count; two cuts merge to the lower head', async () => {
    const o = await makeOrg()
    const alice = newSigner()
    const carol = newSigner()
    const bob = newSigner()
    const base = [
      await certify(o, o.rootSigner, alice.publicKey, 'alice', { role: 'admin' }),
      await certify(o, o.rootSigner, carol.publicKey, 'carol', { role: 'admin' }),
      await certify(o, o.rootSigner, bob.publicKey, 'bob', { notBefore: T0 + 1 }),
    ]
    const cutA = await cutOf(o, alice, 'bob', T0 + 10, [
      { room: 'general', heads: [head(bob.publicKey, 5)] },
      { room: 'ops', heads: [head(bob.publicKey, 2)] },
    ])
    const revA = await revokeWithCut(o, alice, 'bob', T0 + 10, cutA)
    expect(resolveOrg(o.root, o.org, [...base, revA]).cuts.get('bob')).toEqual({ pending: true })
    // a cut with the same signature cannot be forged; one by carol for bob at another time is not it
    const wrong = await cutOf(o, carol, 'bob', T0 + 11, [])
    expect(resolveOrg(o.root, o.org, [...base, revA, wrong]).cuts.get('bob')?.pending).toBe(true)
    const v = resolveOrg(o.root, o.org, [...base, revA, cutA])
    const c = v.cuts.get('bob')
    expect(c?.pending).toBe(false)
    if (c?.pending !== false) throw new Error('unreachable')
    expect([...c.rooms.keys()].sort()).toEqual(['general', 'ops'])
    // carol revokes bob too, holding less of general and nothing of ops
    const cutC = await cutOf(o, carol, 'bob', T0 + 12, [
      { room: 'general', heads: [head(bob.publicKey, 3)] },
      { room: 'ops', heads: [] },
      { room: 'sales', heads: [head(bob.publicKey, 9)] },
    ])
    const revC = await revokeWithCut(o, carol, 'bob', T0 + 12, cutC)
    const m = resolveOrg(o.root, o.org, [...base, revA, cutA, revC, cutC]).cuts.get('bob')
    if (m?.pending !== false) throw new Error('expected a cut')
    const seqOf = (room: string): number | undefined =>
      [...(m.rooms.get(room)?.values() ?? [])][0]?.seq
    expect(seqOf('general')).toBe(3)
    expect(m.rooms.get('ops')?.size).toBe(0)
    expect(seqOf('sales')).toBe(9)
    // a plain revocation has no cut: the clock rule
    const plain = await revoke(o, alice, 'bob', T0 + 10)
    expect(resolveOrg(o.root, o.org, [...base, plain]).cuts.has('bob')).toBe(false)
  })
})

describe('removal cuts in key records', () => {
  it('[CUTR4] a key record leaving members out carries their heads, keys ascending; older records (no cut) read as before; bad flags or an unsorted cut: MalformedEnvelopeError', () => {
    const [me, x, y] = [newSigner(), newSigner(), newSigner()].map((s) => s.publicKey) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ]
    const room = 'p.0123456789abcdef0123456789abcdef01234567.0123456789ab'
    const cut = [head(y, 4), { ...head(x, 0), hash: new Uint8Array(32) }].map(
      ({ key, seq, hash }) => ({ key, seq, hash }),
    )
    const e = newEpoch()
    for (const epoch of [undefined, { ...e, history: new Map() }]) {
      const bytes = encodeKeyRecord({
        room,
        issuer: me,
        recipients: [me],
        cut,
        ...(epoch === undefined ? {} : { epoch }),
      })
      const r = decodeKeyRecord(bytes)
      expect(r.cut?.map((c) => c.seq)).toEqual(
        [...cut].sort((a, b) => compareBytes(a.key, b.key)).map((c) => c.seq),
      )
      expect(r.keyed !== undefined).toBe(epoch !== undefined)
    }
    const plain = encodeKeyRecord({ room, issuer: me, recipients: [me, x] })
    expect(plain[1]).toBe(0)
    expect(decodeKeyRecord(plain)).not.toHaveProperty('cut')
    const flagged = plain.slice()
    flagged[1] = 4
    expect(nameOf(() => decodeKeyRecord(flagged))).toBe('MalformedEnvelopeError')
    const two = encodeKeyRecord({ room, issuer: me, recipients: [me], cut })
    // swap the two cut items (each 32 + 1 + 32 bytes after the count): no longer ascending
    const at = 2 + 1 + 32 + 1
    const sizes = [...cut]
      .sort((a, b) => compareBytes(a.key, b.key))
      .map((c) => 32 + (c.seq < 128 ? 1 : 2) + 32)
    const first = two.slice(at, at + sizes[0]!)
    const second = two.slice(at + sizes[0]!, at + sizes[0]! + sizes[1]!)
    const swapped = new Uint8Array([...two.subarray(0, at), ...second, ...first])
    expect(nameOf(() => decodeKeyRecord(swapped))).toBe('MalformedEnvelopeError')
  })
})
