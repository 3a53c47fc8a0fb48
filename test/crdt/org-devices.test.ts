/**
 * A second device of the same user (issue #4 point 6): the device link record, its code, and the
 * org state's rules — the new device joins its user's keys, single use, quick expiry, only for the
 * issuer's own user, never a higher role, and revoking the user cuts off every device.
 */
import { describe, expect, it } from 'vitest'
import * as prng from 'lib0/prng'
import { createNobleSigner, generateDeviceKey, nobleCrypto } from '../../src/crdt/crypto.ts'
import {
  MAX_LINK_MS,
  decodeOrgRecord,
  signRecord,
  verifyRecordSig,
  type Certificate,
  type DeviceLink,
  type OrgRecord,
} from '../../src/crdt/org-records.ts'
import {
  decodeInviteCode,
  decodeLinkCode,
  encodeInviteCode,
  encodeLinkCode,
  verifyLinkCode,
} from '../../src/crdt/org-code.ts'
import { memberAt, resolveOrg, type OrgView } from '../../src/crdt/org-state.ts'
import { redeemLink } from '../../src/core/org-join.ts'
import {
  T0,
  certify,
  deviceLink,
  invite,
  makeOrg,
  newSigner,
  redeemDeviceLink,
  revoke,
  setRole,
} from '../helpers/org.ts'

const reasons = (v: OrgView): string[] => v.rejected.map((r) => r.reason)
const nameOf = async (f: () => unknown): Promise<string> => {
  try {
    await f()
  } catch (err) {
    return (err as Error).name
  }
  return 'no error'
}

/** Admin alice (by the root), member bob (by alice's invitation), bob's first device. */
async function office() {
  const o = await makeOrg()
  const alice = newSigner()
  const bob = newSigner()
  const aliceCert = await certify(o, o.rootSigner, alice.publicKey, 'alice', { role: 'admin' })
  const inv = await invite(o, alice, { issued: T0 + 10 })
  const bobCert = await signRecord<Certificate>(inv.inviteSigner, {
    kind: 'cert',
    org: o.org,
    userId: 'bob',
    name: 'Bob',
    key: bob.publicKey,
    role: 'member',
    notBefore: T0 + 20,
    notAfter: 0,
    issuer: inv.inviteSigner.publicKey,
  })
  return { o, alice, bob, base: [aliceCert, inv.invitation, bobCert] }
}

describe('device links', () => {
  it('[DEV1] a link record round-trips; it lives at most 10 minutes; a link code round-trips and is checked', async () => {
    const { o, bob, base } = await office()
    const l = await deviceLink(o, bob, 'bob')
    const back = decodeOrgRecord(l.link.bytes)
    expect(back).toEqual(l.link)
    expect(await verifyRecordSig(nobleCrypto, back)).toBe(true)
    expect(
      await nameOf(() => deviceLink(o, bob, 'bob', { issued: T0, expires: T0 + MAX_LINK_MS + 1 })),
    ).toBe('MalformedOrgRecordError')

    const secret = generateDeviceKey().secretKey
    const link = (await signRecord<DeviceLink>(bob, {
      ...l.link,
      linkKey: createNobleSigner(secret).publicKey,
    })) as DeviceLink
    const networkKey = new Uint8Array(32).fill(9)
    const code = encodeLinkCode({
      link,
      linkSecret: secret,
      root: o.root,
      networkKey,
      addrs: ['/ip4/127.0.0.1/tcp/4041/p2p/12D3KooWabc'],
      chain: base,
    })
    expect(code).toMatch(/^[A-Za-z0-9_-]+$/)
    const c = decodeLinkCode(`https://office:4040/#link=${code}`)
    expect(c.link).toEqual(link)
    expect(c.chain).toEqual(base)
    expect(c.networkKey).toEqual(networkKey)
    await verifyLinkCode(nobleCrypto, c, createNobleSigner(secret))
    expect(await nameOf(() => verifyLinkCode(nobleCrypto, c, newSigner()))).toBe(
      'InvalidInviteCodeError',
    )
    // a link code is not an invite code and the other way round
    expect(await nameOf(() => decodeInviteCode(code))).toBe('InvalidInviteCodeError')
    const { invitation } = await invite(o, o.rootSigner)
    const inviteCode = encodeInviteCode({
      invitation,
      inviteSecret: secret,
      root: o.root,
      networkKey,
      addrs: [],
    })
    expect(await nameOf(() => decodeLinkCode(inviteCode))).toBe('InvalidInviteCodeError')
    for (const junk of ['', 'x', code.slice(0, -3), code + 'AAAA', 'A'.repeat(5000)])
      expect(await nameOf(() => decodeLinkCode(junk))).toBe('InvalidInviteCodeError')
  })

  it('[DEV2] a member links a second device: one user with two keys, in any order; revoking the user cuts off both', async () => {
    const { o, alice, bob, base } = await office()
    const phone = newSigner()
    const l = await deviceLink(o, bob, 'bob')
    const cert = await redeemDeviceLink(o, l, phone.publicKey, { name: 'Bob' })
    const records = [...base, l.link, cert]
    const v = resolveOrg(o.root, o.org, records)
    expect(reasons(v)).toEqual([])
    const m = v.members.get('bob')!
    expect([...v.members.keys()].sort()).toEqual(['alice', 'bob'])
    expect(m.keys.size).toBe(2)
    expect(memberAt(v, phone.publicKey, T0 + 1_000)?.userId).toBe('bob')
    expect(memberAt(v, phone.publicKey, T0 + 1_000)?.name).toBe('Bob')
    const gen = prng.create(7)
    for (let i = 0; i < 5; i++) {
      const shuffled = [...records].sort(() => prng.int32(gen, -1, 1))
      expect(resolveOrg(o.root, o.org, shuffled).members).toEqual(v.members)
    }
    // a later promotion of the user counts for every device
    const promoted = resolveOrg(o.root, o.org, [
      ...records,
      await setRole(o, alice, 'bob', 'admin', T0 + 2_000),
    ])
    expect(memberAt(promoted, phone.publicKey, T0 + 3_000)?.role).toBe('admin')
    // revoking the user: both devices out from then on
    const gone = resolveOrg(o.root, o.org, [...records, await revoke(o, alice, 'bob', T0 + 5_000)])
    for (const k of [bob.publicKey, phone.publicKey]) {
      expect(memberAt(gone, k, T0 + 4_999)).toBeDefined()
      expect(memberAt(gone, k, T0 + 5_000)).toBeUndefined()
    }
  })

  it('[DEV3] a reused or expired link, a link for another user, by a non-holder or after revocation, a higher role: refused', async () => {
    const { o, alice, bob, base } = await office()
    const verdict = (...extra: OrgRecord[]): string[] =>
      reasons(resolveOrg(o.root, o.org, [...base, ...extra]))
    const l = await deviceLink(o, bob, 'bob')
    const first = await redeemDeviceLink(o, l, newSigner().publicKey)
    const second = await redeemDeviceLink(o, l, newSigner().publicKey, { notBefore: T0 + 200 })
    expect(verdict(l.link, first, second)).toEqual(['replayed'])
    // redeemed after it expired
    const late = await redeemDeviceLink(o, l, newSigner().publicKey, {
      notBefore: l.link.expires + 1,
    })
    expect(verdict(l.link, late)).toEqual(['expired'])
    // bob's device issuing a link for alice (a different user id): refused, and so is its use
    const forAlice = await deviceLink(o, bob, 'alice')
    const asAlice = await redeemDeviceLink(o, forAlice, newSigner().publicKey, { role: 'admin' })
    expect(verdict(forAlice.link, asAlice)).toEqual(['issuer', 'issuer'])
    // bob's own link redeemed for another user id
    const other = await redeemDeviceLink(o, l, newSigner().publicKey, { userId: 'alice' })
    expect(verdict(l.link, other)).toEqual(['wrong-user'])
    // signed by a key that holds no certificate of bob's
    const stranger = await deviceLink(o, newSigner(), 'bob')
    const strangerDevice = await redeemDeviceLink(o, stranger, newSigner().publicKey)
    expect(verdict(stranger.link, strangerDevice)).toEqual(['issuer', 'issuer'])
    // a member's device asking for admin
    const up = await redeemDeviceLink(o, l, newSigner().publicKey, { role: 'admin' })
    expect(verdict(l.link, up)).toEqual(['role'])
    // revoked before the link was made, or before it was redeemed
    const rev = await revoke(o, alice, 'bob', T0 + 50)
    expect(verdict(rev, l.link, first)).toEqual(['issuer', 'issuer'])
    const revLater = await revoke(o, alice, 'bob', T0 + 100 + 1)
    expect(verdict(revLater, l.link, second)).toEqual(['revoked'])
  })

  it('[DEV4] redeeming a link code: the user name and role come from the chain; an expired or foreign code is refused', async () => {
    const { o, bob, base } = await office()
    const secret = generateDeviceKey().secretKey
    const linkSigner = createNobleSigner(secret)
    const link = await signRecord<DeviceLink>(bob, {
      kind: 'link',
      org: o.org,
      userId: 'bob',
      issued: T0 + 100,
      expires: T0 + 100 + MAX_LINK_MS,
      linkKey: linkSigner.publicKey,
      issuer: bob.publicKey,
    })
    const code = encodeLinkCode({
      link,
      linkSecret: secret,
      root: o.root,
      networkKey: new Uint8Array(32),
      addrs: [],
      chain: base,
    })
    const phone = newSigner()
    const r = await redeemLink(nobleCrypto, code, phone, T0 + 1_000)
    expect(r.userId).toBe('bob')
    expect(r.cert).toMatchObject({ userId: 'bob', name: 'Bob', role: 'member' })
    const v = resolveOrg(o.root, o.org, r.records)
    expect(reasons(v)).toEqual([])
    expect(memberAt(v, phone.publicKey, T0 + 2_000)?.userId).toBe('bob')
    expect(
      await nameOf(() => redeemLink(nobleCrypto, code, newSigner(), T0 + 101 + MAX_LINK_MS)),
    ).toBe('InvalidInviteCodeError')
    // a code whose chain does not show its user
    const bare = encodeLinkCode({
      link,
      linkSecret: secret,
      root: o.root,
      networkKey: new Uint8Array(32),
      addrs: [],
      chain: [],
    })
    expect(await nameOf(() => redeemLink(nobleCrypto, bare, newSigner(), T0 + 1_000))).toBe(
      'InvalidInviteCodeError',
    )
  })
})
