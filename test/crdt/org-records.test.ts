import { describe, expect, it } from 'vitest'
import * as prng from 'lib0/prng'
import { nobleCrypto } from '../../src/crdt/crypto.ts'
import {
  MAX_ORG_RECORD_BYTES,
  decodeOrgRecord,
  orgIdOf,
  signRecord,
  verifyRecordSig,
  type Certificate,
} from '../../src/crdt/org-records.ts'
import { fromBase64Url, toBase64Url } from '../../src/crdt/base64url.ts'
import {
  createProof,
  decodeInviteCode,
  decodeProof,
  encodeInviteCode,
  verifyInviteCode,
  verifyProofSig,
} from '../../src/crdt/org-code.ts'
import { DAY, T0, certify, invite, makeOrg, newSigner, revoke, setRole } from '../helpers/org.ts'

const nameOf = (f: () => unknown): string => {
  try {
    f()
  } catch (err) {
    return (err as Error).name
  }
  return 'no error'
}

describe('org records', () => {
  it('[ORG1] every kind round-trips and its signature verifies', async () => {
    const o = await makeOrg('Acme Ltd')
    const alice = newSigner()
    const { invitation } = await invite(o, o.rootSigner, { role: 'admin' })
    const records = [
      o.root,
      await certify(o, o.rootSigner, alice.publicKey, 'alice', {
        role: 'admin',
        notAfter: T0 + DAY,
      }),
      invitation,
      await revoke(o, o.rootSigner, 'bob', T0 + 5),
      await setRole(o, o.rootSigner, 'alice', 'member', T0 + 6),
    ]
    for (const r of records) {
      const back = decodeOrgRecord(r.bytes)
      expect(back).toEqual(r)
      expect(await verifyRecordSig(nobleCrypto, back)).toBe(true)
    }
    expect(orgIdOf(nobleCrypto, o.rootSigner.publicKey)).toBe(toBase64Url(o.org))
  })

  it('[ORG2] a tampered certificate fails its signature; one signed by someone else names them as issuer', async () => {
    const o = await makeOrg()
    const cert = await certify(o, o.rootSigner, newSigner().publicKey, 'carol')
    const nameAt = 2 + 32 + 1 // version, kind, org, length of userId
    const tampered = cert.bytes.slice()
    tampered[nameAt] = 'k'.charCodeAt(0) // carol → karol, same length
    const back = decodeOrgRecord(tampered) as Certificate
    expect(back.userId).toBe('karol')
    expect(await verifyRecordSig(nobleCrypto, back)).toBe(false)
    // a signature by another key than the issuer's field does not verify either
    const mallory = newSigner()
    const forged = await certify(o, mallory, newSigner().publicKey, 'dave')
    const swapped = forged.bytes.slice()
    swapped.set(o.rootSigner.publicKey, swapped.length - 64 - 32)
    expect(await verifyRecordSig(nobleCrypto, decodeOrgRecord(swapped))).toBe(false)
    await expect(
      signRecord(mallory, { ...cert, issuer: o.rootSigner.publicKey } as never),
    ).rejects.toThrow(RangeError)
  })

  it('[ORG3] garbage, truncation, trailing bytes, unknown version or kind: MalformedOrgRecordError', async () => {
    const o = await makeOrg()
    const cert = await certify(o, o.rootSigner, newSigner().publicKey, 'erin')
    const bad = [
      new Uint8Array(0),
      cert.bytes.subarray(0, cert.bytes.length - 1),
      Uint8Array.of(...cert.bytes.subarray(0, cert.bytes.length - 64), 0, ...cert.sig),
      Uint8Array.of(2, ...cert.bytes.subarray(1)),
      Uint8Array.of(1, 9, ...cert.bytes.subarray(2)),
      new Uint8Array(MAX_ORG_RECORD_BYTES + 1),
    ]
    for (const b of bad) expect(nameOf(() => decodeOrgRecord(b))).toBe('MalformedOrgRecordError')
    const gen = prng.create(42)
    for (let i = 0; i < 2000; i++) {
      const b = cert.bytes.slice()
      b[prng.uint32(gen, 0, b.length - 65)] = prng.uint32(gen, 0, 255)
      const n = nameOf(() => decodeOrgRecord(b))
      expect(['no error', 'MalformedOrgRecordError']).toContain(n)
      const r = prng.uint8Array(gen, prng.uint32(gen, 0, 300))
      expect(['no error', 'MalformedOrgRecordError']).toContain(nameOf(() => decodeOrgRecord(r)))
    }
  })

  it('[ORG4] an invite code round-trips as URL-safe text and is checked', async () => {
    const o = await makeOrg()
    const { invitation, inviteSigner } = await invite(o, o.rootSigner)
    const networkKey = new Uint8Array(32).fill(7)
    const secret = new Uint8Array(32).fill(1)
    const code = encodeInviteCode({
      invitation,
      inviteSecret: secret,
      root: o.root,
      networkKey,
      addrs: ['/ip4/127.0.0.1/tcp/4041/p2p/12D3KooWabc'],
    })
    expect(code).toMatch(/^[A-Za-z0-9_-]+$/)
    const back = decodeInviteCode(`https://office:4040/#invite=${code}`)
    expect(back.invitation).toEqual(invitation)
    expect(back.networkKey).toEqual(networkKey)
    expect(back.addrs).toEqual(['/ip4/127.0.0.1/tcp/4041/p2p/12D3KooWabc'])
    await verifyInviteCode(nobleCrypto, back, inviteSigner)
    await expect(verifyInviteCode(nobleCrypto, back, newSigner())).rejects.toMatchObject({
      name: 'InvalidInviteCodeError',
    })
    const other = await makeOrg()
    await expect(
      verifyInviteCode(nobleCrypto, { ...back, root: other.root }, inviteSigner),
    ).rejects.toMatchObject({ name: 'InvalidInviteCodeError' })
    for (const junk of ['', 'x', '!!!!', code.slice(0, -3), code + 'AAAA', 'A'.repeat(5000)])
      expect(nameOf(() => decodeInviteCode(junk))).toBe('InvalidInviteCodeError')
  })

  it('[ORG5] an admission proof binds one peer id', async () => {
    const o = await makeOrg()
    const me = newSigner()
    const cert = await certify(o, o.rootSigner, me.publicKey, 'frank')
    const bytes = await createProof(me, o.org, '12D3KooWpeerA', [o.root, cert])
    const p = decodeProof(bytes)
    expect(p.records).toEqual([o.root, cert])
    expect(await verifyProofSig(nobleCrypto, o.org, p)).toBe(true)
    expect(await verifyProofSig(nobleCrypto, o.org, { ...p, peerId: '12D3KooWpeerB' })).toBe(false)
    const other = await makeOrg()
    expect(await verifyProofSig(nobleCrypto, other.org, p)).toBe(false)
    for (const junk of [new Uint8Array(0), bytes.subarray(0, 40), Uint8Array.of(...bytes, 0)])
      expect(nameOf(() => decodeProof(junk))).toBe('MalformedProofError')
  })

  it('[ORG6] base64url is canonical', () => {
    const b = Uint8Array.of(0, 255, 1, 2)
    expect(fromBase64Url(toBase64Url(b))).toEqual(b)
    expect(fromBase64Url('AP8BAg==')).toBeUndefined()
    expect(fromBase64Url('AP8BAh')).toBeUndefined() // non-zero padding bits
    expect(fromBase64Url('a+b/')).toBeUndefined()
  })
})
