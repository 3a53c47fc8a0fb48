/**
 * A second device of one user on real peers (libp2p over TCP on 127.0.0.1, SQLite): linked with a
 * one-time code from the first device, it gets its own key and certificate for the same user,
 * passes admission everywhere, reads the history and writes as that user; a reused or expired code,
 * or a link for another user or by a non-holder, gets nobody in; revoking the user cuts off both.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { nodeCrypto } from '../../src/node/crypto-node.ts'
import { redeemLink } from '../../src/core/org-join.ts'
import { OrgClient } from '../../src/core/org-client.ts'
import { heldByOther } from '../../src/core/people.ts'
import { checkLink, linkInto } from '../../src/core/org-device.ts'
import { loadOrgSettings } from '../../src/core/org-settings.ts'
import { openSqliteStore } from '../../src/node/sqlite-store.ts'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeLinkCode } from '../../src/crdt/org-code.ts'
import { authorId } from '../../src/crdt/entry.ts'
import { createNobleSigner } from '../../src/crdt/crypto.ts'
import { signRecord, type Certificate, type DeviceLink } from '../../src/crdt/org-records.ts'
import {
  OrgPeerSet,
  connectOrg,
  newNodeSigner,
  startOffice,
  tcpAddr,
  textsOf,
  type OrgPeer,
} from '../helpers/org-peers.ts'

const set = new OrgPeerSet()
afterEach(() => set.teardown())

const signal = (): AbortSignal => AbortSignal.timeout(10_000)
const WAIT = { timeout: 15_000, interval: 50 }

/** Office Node peer A (holds the root), admin alice on B, member carol's first device on C. */
async function office() {
  const { o, a, b, members } = await startOffice(set, ['carol'], WAIT)
  return { o, a, b, c: members[0]! }
}

/** A new device started from a link code (its records: the code's chain, the link, its cert). */
async function linkDevice(code: string, now?: number): Promise<OrgPeer> {
  const signer = newNodeSigner()
  const r = await redeemLink(nodeCrypto, code, signer, now)
  return set.add({ root: r.root, networkKey: r.networkKey, signer, records: r.records })
}

/** Waits until `peer` gave `of` a verdict; whether it admitted it. */
async function verdictOn(peer: OrgPeer, of: OrgPeer): Promise<boolean> {
  await of.net.dial(tcpAddr(peer)).catch(() => undefined)
  let v: boolean | undefined
  await vi.waitFor(() => {
    v = peer.verdicts.find((x) => x.peer === of.net.peerId)?.ok
    expect(v).toBeDefined()
  }, WAIT)
  return v!
}

describe('a second device of one user', () => {
  it('[DEVC1] linked with a one-time code: admitted everywhere, reads the history, writes as the same user; the people list shows the user once', async () => {
    const { a, b, c } = await office()
    await c.messenger.post('general', 'from the laptop')
    await c.messenger.pushTo(a.net.peerId, 'general', signal())
    const { code, link } = await c.org.createDeviceLink({ addrs: [tcpAddr(a)] })
    expect(link.expires - link.issued).toBe(10 * 60_000)
    const d = await linkDevice(code)
    // before it has synced anything it knows its own user from the code's chain
    expect(d.org.view().byKey.size).toBeGreaterThan(0)
    expect(d.org.roleOf(d.signer.publicKey)).toBe('member')
    await connectOrg(d, a)
    await vi.waitFor(() => {
      for (const p of [a, b, c]) expect(p.org.roleOf(d.signer.publicKey)).toBe('member')
    }, WAIT)
    const carol = b.org.members().find((m) => m.userId === 'carol')!
    expect(carol.keys.sort()).toEqual(
      [authorId(c.signer.publicKey), authorId(d.signer.publicKey)].sort(),
    )
    const people = new OrgClient(b.org, b.messenger, authorId(b.signer.publicKey)).directory({})
    expect(people.filter((p) => p.userId === 'carol')).toHaveLength(1)

    // history by the normal sync; a post from the new device reaches everyone as carol's
    await d.messenger.join('general')
    await vi.waitFor(
      async () => expect(await textsOf(d, 'general')).toContain('from the laptop'),
      WAIT,
    )
    const posted = await d.messenger.post('general', 'from the phone')
    expect(await d.messenger.pushTo(a.net.peerId, 'general', signal())).toBe(posted.seq)
    await vi.waitFor(
      async () => expect(await textsOf(b, 'general')).toContain('from the phone'),
      WAIT,
    )
    const byPhone = (await b.messenger.messages('general')).find(
      (m) => m.text === 'from the phone',
    )!
    const names = new OrgClient(b.org, b.messenger, authorId(b.signer.publicKey))
    expect(names.nameOf(byPhone.author)).toBe('carol')
    expect(names.nameOf(authorId(c.signer.publicKey))).toBe('carol')
  })

  it('[DEVC2] a reused or expired link code gets nobody in, on every peer', async () => {
    const { a, b, c } = await office()
    const { code } = await c.org.createDeviceLink({ addrs: [tcpAddr(a)] })
    const d = await linkDevice(code)
    expect(await verdictOn(a, d)).toBe(true)
    // the same code again: a certificate nobody accepts (replayed)
    const e = await linkDevice(code)
    expect(await verdictOn(a, e)).toBe(false)
    expect(await verdictOn(b, e)).toBe(false)
    expect(a.org.view().rejected.map((x) => x.reason)).toContain('replayed')
    // an expired code: refused where it is redeemed, and a certificate signed past the expiry anyway
    // (with the code's secret) is refused by every peer
    const { code: short, link } = await c.org.createDeviceLink({ expiresInMs: 1 })
    await expect(linkDevice(short, link.expires + 1)).rejects.toMatchObject({
      name: 'InvalidInviteCodeError',
    })
    const parsed = decodeLinkCode(short)
    const late = newNodeSigner()
    const cert = await signRecord<Certificate>(createNobleSigner(parsed.linkSecret), {
      kind: 'cert',
      org: link.org,
      userId: 'carol',
      name: 'carol',
      key: late.publicKey,
      role: 'member',
      notBefore: link.expires + 1,
      notAfter: 0,
      issuer: link.linkKey,
    })
    const f = await set.add({
      root: parsed.root,
      networkKey: parsed.networkKey,
      signer: late,
      records: [...parsed.chain, link, cert],
    })
    for (const p of [a, b, c]) expect(await verdictOn(p, f)).toBe(false)
    expect(a.org.view().rejected.map((x) => x.reason)).toContain('expired')
  })

  it('[DEVC3] a link for another user id, or signed by a key that is not that user, is rejected by every peer', async () => {
    const { o, a, b, c } = await office()
    const org = c.org.org
    // carol's own device key signs a link for alice (an admin): refused
    const forAlice = newNodeSigner()
    const rogue = newNodeSigner()
    const asAlice: DeviceLink = await signRecord<DeviceLink>(c.signer, {
      kind: 'link',
      org,
      userId: 'alice',
      issued: Date.now(),
      expires: Date.now() + 60_000,
      linkKey: forAlice.publicKey,
      issuer: c.signer.publicKey,
    })
    const aliceDevice = await signRecord<Certificate>(forAlice, {
      kind: 'cert',
      org,
      userId: 'alice',
      name: 'Alice',
      key: rogue.publicKey,
      role: 'admin',
      notBefore: asAlice.issued + 1,
      notAfter: 0,
      issuer: forAlice.publicKey,
    })
    const r1 = await set.add({
      ...o,
      signer: rogue,
      records: [...c.org.chainOf(c.signer.publicKey), asAlice, aliceDevice],
    })
    // a stranger's key signs a link for carol: refused
    const strangerLink = newNodeSigner()
    const stranger = newNodeSigner()
    const intruder = newNodeSigner()
    const forCarol = await signRecord<DeviceLink>(stranger, {
      kind: 'link',
      org,
      userId: 'carol',
      issued: Date.now(),
      expires: Date.now() + 60_000,
      linkKey: strangerLink.publicKey,
      issuer: stranger.publicKey,
    })
    const carolDevice = await signRecord<Certificate>(strangerLink, {
      kind: 'cert',
      org,
      userId: 'carol',
      name: 'carol',
      key: intruder.publicKey,
      role: 'member',
      notBefore: forCarol.issued + 1,
      notAfter: 0,
      issuer: strangerLink.publicKey,
    })
    const r2 = await set.add({
      ...o,
      signer: intruder,
      records: [...c.org.chainOf(c.signer.publicKey), forCarol, carolDevice],
    })
    for (const p of [a, b, c]) {
      expect(await verdictOn(p, r1)).toBe(false)
      expect(await verdictOn(p, r2)).toBe(false)
      expect(p.org.isMember(rogue.publicKey)).toBe(false)
      expect(p.org.isMember(intruder.publicKey)).toBe(false)
      expect(p.org.view().members.get('alice')?.keys.size).toBe(1)
    }
  })

  it('[DEVC4] revoking the user cuts off both devices on every online peer', async () => {
    const { a, b, c } = await office()
    const { code } = await c.org.createDeviceLink({ addrs: [tcpAddr(a)] })
    const d = await linkDevice(code)
    await connectOrg(d, a)
    await connectOrg(d, b)
    await vi.waitFor(() => expect(b.org.isMember(d.signer.publicKey)).toBe(true), WAIT)
    await b.org.revoke('carol')
    await vi.waitFor(() => {
      for (const p of [a, b]) {
        expect(p.net.peers()).not.toContain(c.net.peerId)
        expect(p.net.peers()).not.toContain(d.net.peerId)
      }
    }, WAIT)
    for (const p of [a, b])
      for (const k of [c.signer.publicKey, d.signer.publicKey])
        expect(p.org.isMember(k)).toBe(false)
    await d.messenger.post('general', 'after revocation')
    await d.messenger.pushTo(a.net.peerId, 'general', signal()).catch(() => 0)
    expect(await textsOf(a, 'general')).not.toContain('after revocation')
  })

  it('[DEVC5] the new device checks a code (user, name, expiry, org) and stores its membership; a peer started from it is admitted', async () => {
    const { a, c } = await office()
    const { code, link } = await c.org.createDeviceLink()
    const serving = { name: a.org.name, orgId: a.org.orgId }
    expect(await checkLink(nodeCrypto, code, { serving })).toMatchObject({
      userId: 'carol',
      name: 'carol',
      orgName: 'Acme',
      expires: link.expires,
    })
    const refused = async (p: Promise<unknown>): Promise<string> =>
      p.then(
        () => 'no error',
        (err: unknown) => (err as Error).name,
      )
    expect(await refused(checkLink(nodeCrypto, code, { now: link.expires + 1 }))).toBe(
      'LinkCodeError',
    )
    expect(
      await refused(checkLink(nodeCrypto, code, { serving: { name: 'Else', orgId: 'x' } })),
    ).toBe('LinkCodeError')
    expect(await refused(checkLink(nodeCrypto, code.slice(0, -4)))).toBe('LinkCodeError')

    const dir = mkdtempSync(join(tmpdir(), 'parley-link-'))
    set.dirs.push(dir)
    const store = openSqliteStore(join(dir, 'history.db'))
    const signer = newNodeSigner()
    try {
      expect(await linkInto(store, nodeCrypto, code, signer)).toEqual({
        userId: 'carol',
        name: 'carol',
      })
      expect(await refused(linkInto(store, nodeCrypto, code, signer))).toBe('LinkCodeError')
      const s = (await loadOrgSettings(store))!
      const d = await set.add({
        root: s.root,
        networkKey: s.networkKey,
        signer,
        records: s.records,
      })
      expect(await verdictOn(a, d)).toBe(true)
    } finally {
      await store.close()
    }
  })

  it('[DEVC6] the new device gets the keys of the private rooms of its user from the first device, reads their history and writes in them', async () => {
    const { a, b, c } = await office()
    const room = await c.messenger.encrypted.createPrivateRoom({
      name: 'Plans',
      members: [authorId(b.signer.publicKey)],
    })
    await c.messenger.post(room, 'secret from the laptop')
    const { code } = await c.org.createDeviceLink({ addrs: [tcpAddr(a)] })
    const d = await linkDevice(code)
    await connectOrg(d, a)
    // carol's first device hands the new one every epoch key (src/core/key-rotation.ts)
    await vi.waitFor(
      async () =>
        expect(await c.messenger.encrypted.members(room)).toContain(authorId(d.signer.publicKey)),
      WAIT,
    )
    await d.messenger.join(room)
    await vi.waitFor(
      async () => expect(await textsOf(d, room)).toEqual(['secret from the laptop']),
      WAIT,
    )
    await d.messenger.post(room, 'secret from the phone')
    await b.messenger.join(room)
    await vi.waitFor(
      async () =>
        expect(await textsOf(b, room)).toEqual(['secret from the laptop', 'secret from the phone']),
      WAIT,
    )
  })

  it('[DEVC7] a user ID claimed by the first device is not "taken" for a linked device of the same user, only for others', () => {
    const at = { wall: 1, count: 0 }
    const directory = new Map([
      [
        'LAPTOP',
        { author: 'LAPTOP', userId: 'carol', name: 'Carol', claimed: at, conflict: false },
      ],
      ['PHONE', { author: 'PHONE', userId: 'carol', name: 'Carol', claimed: at, conflict: true }],
    ])
    expect(heldByOther(directory, 'carol', 'PHONE')).toBe(true)
    expect(heldByOther(directory, 'carol', 'PHONE', (a) => a === 'LAPTOP')).toBe(false)
    expect(heldByOther(directory, 'carol', 'STRANGER', (a) => a === 'PHONE')).toBe(true)
  })
})
