import { describe, expect, it } from 'vitest'
import * as prng from 'lib0/prng'
import { memberAt, resolveOrg, roleAt, type OrgView } from '../../src/crdt/org-state.ts'
import type { Certificate, OrgRecord } from '../../src/crdt/org-records.ts'
import { signRecord } from '../../src/crdt/org-records.ts'
import { DAY, T0, certify, invite, makeOrg, newSigner, revoke, setRole } from '../helpers/org.ts'

const reasons = (v: OrgView): string[] => v.rejected.map((r) => r.reason)

/** An org with admin `alice` (certified by the root) and member `bob` (redeemed an invitation). */
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
  return { o, alice, bob, aliceCert, inv, bobCert, base: [aliceCert, inv.invitation, bobCert] }
}

describe('org state', () => {
  it('[ORGS1] admin by the root, member by redeeming an invitation; same verdict in any order', async () => {
    const { o, alice, bob, base } = await office()
    const v = resolveOrg(o.root, o.org, base)
    expect(reasons(v)).toEqual([])
    expect(memberAt(v, alice.publicKey, T0 + 100)?.role).toBe('admin')
    expect(memberAt(v, bob.publicKey, T0 + 100)?.userId).toBe('bob')
    const gen = prng.create(3)
    for (let i = 0; i < 5; i++) {
      const shuffled = [...base].sort(() => prng.int32(gen, -1, 1))
      expect(resolveOrg(o.root, o.org, shuffled).members).toEqual(v.members)
    }
  })

  it('[ORGS2] a second redemption of one invitation is refused (replayed); the earliest wins', async () => {
    const { o, base, inv, bob } = await office()
    const eve = newSigner()
    const again = await signRecord<Certificate>(inv.inviteSigner, {
      kind: 'cert',
      org: o.org,
      userId: 'eve',
      name: 'Eve',
      key: eve.publicKey,
      role: 'member',
      notBefore: T0 + 30,
      notAfter: 0,
      issuer: inv.inviteSigner.publicKey,
    })
    const v = resolveOrg(o.root, o.org, [again, ...base])
    expect(reasons(v)).toEqual(['replayed'])
    expect(memberAt(v, eve.publicKey, T0 + 100)).toBeUndefined()
    expect(memberAt(v, bob.publicKey, T0 + 100)).toBeDefined()
  })

  it('[ORGS3] an expired invitation, a wrong role and a taken user id are refused', async () => {
    const { o, alice, base } = await office()
    const late = await invite(o, alice, { issued: T0 + 1, expires: T0 + DAY })
    const redeem = (
      i: typeof late,
      userId: string,
      notBefore: number,
      role: 'member' | 'admin' = 'member',
    ) =>
      signRecord<Certificate>(i.inviteSigner, {
        kind: 'cert',
        org: o.org,
        userId,
        name: userId,
        key: newSigner().publicKey,
        role,
        notBefore,
        notAfter: 0,
        issuer: i.inviteSigner.publicKey,
      })
    const second = await invite(o, alice, { issued: T0 + 1 })
    const third = await invite(o, alice, { issued: T0 + 1 })
    const v = resolveOrg(o.root, o.org, [
      ...base,
      late.invitation,
      await redeem(late, 'gina', T0 + DAY + 1),
      second.invitation,
      await redeem(second, 'hank', T0 + 40, 'admin'),
      third.invitation,
      await redeem(third, 'alice', T0 + 50),
    ])
    expect(reasons(v).sort()).toEqual(['expired', 'role', 'user-id-taken'])
    expect([...v.members.keys()].sort()).toEqual(['alice', 'bob'])
  })

  it('[ORGS4] a certificate or invitation issued by a member, or by a stranger, is refused (issuer)', async () => {
    const { o, bob, base } = await office()
    const mallory = newSigner()
    const v = resolveOrg(o.root, o.org, [
      ...base,
      await certify(o, bob, newSigner().publicKey, 'ivan', { notBefore: T0 + 100 }),
      await certify(o, mallory, mallory.publicKey, 'mallory', { role: 'admin' }),
      (await invite(o, bob, { issued: T0 + 100 })).invitation,
    ])
    expect(reasons(v)).toEqual(['issuer', 'issuer', 'issuer'])
  })

  it('[ORGS5] a revocation by a non-admin is refused; by an admin it cuts the member off from then on', async () => {
    const { o, alice, bob, base } = await office()
    const forged = await revoke(o, bob, 'alice', T0 + 100)
    const real = await revoke(o, alice, 'bob', T0 + 200)
    const v = resolveOrg(o.root, o.org, [...base, forged, real])
    expect(reasons(v)).toEqual(['issuer'])
    expect(memberAt(v, bob.publicKey, T0 + 199)).toBeDefined()
    expect(memberAt(v, bob.publicKey, T0 + 200)).toBeUndefined()
    expect(memberAt(v, alice.publicKey, T0 + 300)).toBeDefined()
    // a revoked user cannot be certified again
    const back = await certify(o, alice, newSigner().publicKey, 'bob', { notBefore: T0 + 300 })
    expect(reasons(resolveOrg(o.root, o.org, [...base, real, back]))).toEqual(['revoked'])
  })

  it('[ORGS6] the last admin can be neither revoked nor demoted; with two admins one can go', async () => {
    const { o, alice, bob, base } = await office()
    const records: OrgRecord[] = [
      ...base,
      await revoke(o, alice, 'alice', T0 + 100),
      await setRole(o, o.rootSigner, 'alice', 'member', T0 + 101),
    ]
    let v = resolveOrg(o.root, o.org, records)
    expect(reasons(v)).toEqual(['last-admin', 'last-admin'])
    expect(v.members.get('alice')?.role).toBe('admin')
    records.push(await setRole(o, alice, 'bob', 'admin', T0 + 200))
    records.push(await setRole(o, bob, 'alice', 'member', T0 + 300))
    v = resolveOrg(o.root, o.org, records)
    expect(v.members.get('alice')?.role).toBe('member')
    expect(v.members.get('bob')?.role).toBe('admin')
    // the role at any moment, from the final view (what a private room's removals are judged by)
    expect(roleAt(v, alice.publicKey, T0 + 299)).toBe('admin')
    expect(roleAt(v, alice.publicKey, T0 + 300)).toBe('member')
    expect(roleAt(v, bob.publicKey, T0 + 199)).toBe('member')
    expect(roleAt(v, bob.publicKey, T0 + 200)).toBe('admin')
    expect(roleAt(v, bob.publicKey, T0 + 19)).toBeUndefined()
    // alice, demoted, can no longer act as an admin
    v = resolveOrg(o.root, o.org, [...records, await revoke(o, alice, 'bob', T0 + 400)])
    expect(reasons(v).at(-1)).toBe('issuer')
  })

  it('[ORGS7] an expired certificate stops counting; records of another org are refused', async () => {
    const { o, base } = await office()
    const temp = newSigner()
    const other = await makeOrg()
    const v = resolveOrg(o.root, o.org, [
      ...base,
      await certify(o, o.rootSigner, temp.publicKey, 'temp', { notAfter: T0 + DAY }),
      await certify(other, other.rootSigner, newSigner().publicKey, 'outsider'),
    ])
    expect(reasons(v)).toEqual(['org'])
    expect(memberAt(v, temp.publicKey, T0 + DAY - 1)).toBeDefined()
    expect(memberAt(v, temp.publicKey, T0 + DAY)).toBeUndefined()
  })
})
