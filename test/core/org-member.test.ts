/**
 * Joining an org from an account's own store (the browser's sign-up, a second device): checking a
 * code before anyone types a password, redeeming it into the store, opening the org again; and
 * the serving peer's side: the first admin's setup invitation and `/api/invite`'s answers.
 */
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { describe, expect, it } from 'vitest'
import { nobleCrypto } from '../../src/crdt/crypto.ts'
import { Org } from '../../src/core/org.ts'
import { createRootStatement } from '../../src/core/org-join.ts'
import { openIdbStore } from '../../src/core/idb-store.ts'
import {
  checkInvite,
  openMemberOrg,
  redeemInto,
  type InviteStatus,
} from '../../src/core/org-member.ts'
import { inviteStatus, orgPublicInfo, setupInvite } from '../../src/node/org-web.ts'
import { newSigner } from '../helpers/org.ts'

let n = 0
const store = () => openIdbStore(`org-member-${++n}`, new IDBFactory())

/** An org whose root key is here (a serving Node peer), at a clock the test moves. */
async function rootOrg(name = 'Acme', clock = { t: Date.now() }) {
  const rootSigner = newSigner()
  const org = await Org.open({
    crypto: nobleCrypto,
    root: await createRootStatement(rootSigner, name, clock.t),
    networkKey: new Uint8Array(32).fill(7),
    signer: newSigner(),
    rootSigner,
    now: () => clock.t,
  })
  return { org, clock }
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (err: Error & { reason?: string }) => `${err.name}:${err.reason ?? ''}`,
  )

describe('joining an org from an account store', () => {
  it('[OMEM1] a code is checked before sign-up: invalid, expired, another org, used, user ID taken', async () => {
    const { org } = await rootOrg()
    const { code, invitation } = await org.createInvite({ expiresInMs: 60_000 })
    const serving = { name: org.name, orgId: org.orgId }
    const open = async (): Promise<InviteStatus> => ({ status: 'open' })

    const ok = await checkInvite(nobleCrypto, `https://x:1/#invite=${code}`, {
      serving,
      status: open,
    })
    expect(ok).toMatchObject({ orgName: 'Acme', orgId: org.orgId, role: 'member' })
    expect(ok.expires).toBe(invitation.expires)

    expect(await refusal(checkInvite(nobleCrypto, 'not a code'))).toBe('InviteRefusedError:invalid')
    expect(await refusal(checkInvite(nobleCrypto, code.slice(0, -8)))).toBe(
      'InviteRefusedError:invalid',
    )
    expect(await refusal(checkInvite(nobleCrypto, code, { now: invitation.expires + 1 }))).toBe(
      'InviteRefusedError:expired',
    )
    const other = await rootOrg('Other')
    expect(
      await refusal(
        checkInvite(nobleCrypto, code, {
          serving: { name: other.org.name, orgId: other.org.orgId },
        }),
      ),
    ).toBe('InviteRefusedError:other-org')
    const says = (s: InviteStatus) => async (): Promise<InviteStatus> => s
    expect(
      await refusal(checkInvite(nobleCrypto, code, { serving, status: says({ status: 'used' }) })),
    ).toBe('InviteRefusedError:used')
    expect(
      await refusal(
        checkInvite(nobleCrypto, code, { serving, status: says({ status: 'expired' }) }),
      ),
    ).toBe('InviteRefusedError:expired')
    expect(
      await refusal(
        checkInvite(nobleCrypto, code, {
          serving,
          userId: 'bob',
          status: says({ status: 'open', userTaken: true }),
        }),
      ),
    ).toBe('InviteRefusedError:user-taken')
    // a serving peer that cannot answer does not stop anyone: every peer checks again
    const down = async (): Promise<InviteStatus> => {
      throw new Error('offline')
    }
    expect(await refusal(checkInvite(nobleCrypto, code, { serving, status: down }))).toBe(
      'accepted',
    )
  })

  it('[OMEM2] redeeming stores the membership; the org opens from the store; a second redemption into it is refused', async () => {
    const { org } = await rootOrg()
    const { code } = await org.createInvite({ role: 'admin' })
    const s = await store()
    const signer = newSigner()
    expect(await openMemberOrg(s, nobleCrypto, signer)).toBeUndefined()
    await redeemInto(s, nobleCrypto, code, { userId: 'ada', name: 'Ada', signer })
    const mine = await openMemberOrg(s, nobleCrypto, signer)
    expect(mine?.orgId).toBe(org.orgId)
    // the root issued the invitation: the first admin is an admin at once, here and at the root
    expect(mine?.roleOf(signer.publicKey)).toBe('admin')
    await org.add(mine!.records())
    expect(org.roleOf(signer.publicKey)).toBe('admin')
    expect(org.members().map((m) => m.userId)).toEqual(['ada'])
    expect(
      await refusal(redeemInto(s, nobleCrypto, code, { userId: 'x2', name: 'X', signer })),
    ).toBe('InviteRefusedError:invalid')
    await s.close()
  })
})

describe('the serving peer: first admin and /api/invite', () => {
  it('[OWEB1] a setup invitation while there is no admin (the same one after a restart), only to local pages; none once an admin exists', async () => {
    const { org } = await rootOrg()
    const s = await store()
    const setup = await setupInvite(org, s)
    expect(setup).toBeDefined()
    expect(await setupInvite(org, s)).toBe(setup) // kept in the store's settings
    expect(orgPublicInfo(org, setup, true)).toEqual({ name: 'Acme', orgId: org.orgId, setup })
    expect(orgPublicInfo(org, setup, false)).toEqual({ name: 'Acme', orgId: org.orgId })

    const first = await store()
    const signer = newSigner()
    await redeemInto(first, nobleCrypto, setup!, { userId: 'ada', name: 'Ada', signer })
    await org.add((await openMemberOrg(first, nobleCrypto, signer))!.records())
    expect(org.hasAdmin()).toBe(true)
    expect(orgPublicInfo(org, setup, true)).toEqual({ name: 'Acme', orgId: org.orgId })
    expect(await setupInvite(org, s)).toBeUndefined()
    await s.close()
    await first.close()
  })

  it('[OWEB2] /api/invite tells open, used, expired and unknown invitations, and a taken user ID only for an open one', async () => {
    const { org, clock } = await rootOrg()
    const q = (key: Uint8Array, user?: string) =>
      new URLSearchParams({
        key: Buffer.from(key).toString('base64url'),
        ...(user === undefined ? {} : { user }),
      })
    const a = await org.createInvite({ role: 'admin' })
    const b = await org.createInvite({ expiresInMs: 60_000 })
    expect(inviteStatus(org, q(a.invitation.inviteKey, 'ada'))).toEqual({
      status: 'open',
      userTaken: false,
    })
    const s = await store()
    const signer = newSigner()
    await redeemInto(s, nobleCrypto, a.code, { userId: 'ada', name: 'Ada', signer })
    await org.add((await openMemberOrg(s, nobleCrypto, signer))!.records())
    expect(inviteStatus(org, q(a.invitation.inviteKey))).toEqual({ status: 'used' })
    expect(inviteStatus(org, q(b.invitation.inviteKey, 'ada'))).toEqual({
      status: 'open',
      userTaken: true,
    })
    clock.t += 61_000
    expect(inviteStatus(org, q(b.invitation.inviteKey, 'ada'))).toEqual({ status: 'expired' })
    expect(inviteStatus(org, q(newSigner().publicKey))).toEqual({ status: 'unknown' })
    expect(inviteStatus(org, new URLSearchParams({ key: '!!' }))).toEqual({ status: 'unknown' })
    await s.close()
  })
})
