/**
 * The web app's org facade ({@link OrgClient}) on real peers (libp2p over TCP on 127.0.0.1,
 * SQLite): the org's name and our role, the people list as the signed directory (no Node peers,
 * no one from `sys.people` alone), invitations, the last-admin rule, and a revoked member's own
 * view of its removal.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { OrgClient } from '../../src/core/org-client.ts'
import { authorId } from '../../src/crdt/entry.ts'
import { OrgPeerSet, connectOrg, joinWith, newNodeSigner, newOrg } from '../helpers/org-peers.ts'

const set = new OrgPeerSet()
afterEach(() => set.teardown())
const WAIT = { timeout: 15_000, interval: 50 }

describe('OrgClient', () => {
  it('[ORGCL1] name, roles, directory, invitations, last admin, revocation seen by the revoked', async () => {
    const o = await newOrg('Acme Ltd')
    const nodeSigner = newNodeSigner()
    const node = await set.add({ ...o, signer: nodeSigner, rootSigner: o.rootSigner })
    await node.org.issueCertificate({
      userId: 'office',
      name: 'Office',
      key: nodeSigner.publicKey,
      role: 'peer',
    })
    const annSigner = newNodeSigner()
    const annCert = await node.org.issueCertificate({
      userId: 'ann',
      name: 'Ann',
      key: annSigner.publicKey,
      role: 'admin',
    })
    const ann = await set.add({
      root: o.root,
      networkKey: o.networkKey,
      signer: annSigner,
      records: [annCert],
    })
    await connectOrg(ann, node)
    const annView = new OrgClient(ann.org, ann.messenger, authorId(annSigner.publicKey))
    expect(annView.org()).toMatchObject({ name: 'Acme Ltd', role: 'admin', removed: false })

    const { code, expires } = await annView.createInvite({ role: 'member', expiresInMs: 60_000 })
    expect(expires).toBeGreaterThan(Date.now())
    const bob = await set.add(await joinWith(code, 'bob'))
    await connectOrg(bob, node)
    const bobView = new OrgClient(bob.org, bob.messenger, authorId(bob.signer.publicKey))
    await vi.waitFor(() => {
      expect(annView.directory({}).map((p) => [p.userId, p.self])).toEqual(
        expect.arrayContaining([
          ['ann', true],
          ['bob', false],
        ]),
      )
      expect(bobView.org().role).toBe('member')
    }, WAIT)
    // the Node peer holds a certificate but is no person
    expect(annView.directory({}).map((p) => p.userId)).not.toContain('office')
    expect(annView.nameOf(authorId(bob.signer.publicKey))).toBe('bob')

    await expect(annView.revoke('ann')).rejects.toMatchObject({ name: 'OrgPermissionError' })
    await expect(annView.setRole('ann', 'member')).rejects.toMatchObject({
      name: 'OrgPermissionError',
    })
    await expect(bobView.revoke('ann')).rejects.toMatchObject({ name: 'OrgPermissionError' })

    let changed = 0
    const off = bobView.onChange(() => changed++)
    await annView.revoke('bob')
    // the revoked member's own peer learns it before it is cut off, then is cut off
    await vi.waitFor(() => expect(bobView.org().removed).toBe(true), WAIT)
    await vi.waitFor(() => expect(bob.net.peers()).not.toContain(node.net.peerId), WAIT)
    expect(changed).toBeGreaterThan(0)
    off()
    expect(annView.directory({}).map((p) => p.userId)).toEqual(['ann'])
  })
})
