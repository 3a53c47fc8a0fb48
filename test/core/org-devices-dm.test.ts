/**
 * A linked second device and the account's conversations, on real peers (libp2p over TCP on
 * 127.0.0.1, SQLite, the web app's client facade): the new device gets the user's direct messages
 * (a dm is between users, every device of both holds its keys), its room list (through the
 * user's encrypted account room) with their history, and what it writes shows as the same user.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { nodeCrypto } from '../../src/node/crypto-node.ts'
import { redeemLink } from '../../src/core/org-join.ts'
import type { ParleyClient } from '../../src/core/client.ts'
import { authorId } from '../../src/crdt/entry.ts'
import { dmRoomId, isUserRoom } from '../../src/crdt/room-ids.ts'
import { ROOMS_ROOM, encodeRecord } from '../../src/crdt/directory.ts'
import {
  OrgPeerSet,
  connectOrg,
  newNodeSigner,
  startOffice,
  tcpAddr,
  type OrgPeer,
} from '../helpers/org-peers.ts'

const set = new OrgPeerSet()
afterEach(() => set.teardown())

const WAIT = { timeout: 20_000, interval: 100 }

/** The web app's client over an org peer, signed in as `userId` (stopped after each test). */
const clientOf = (p: OrgPeer, userId: string): Promise<ParleyClient> => set.client(p, userId)

/** Office Node peer A, admin alice on B with her client, carol's first device C with hers. */
async function office() {
  const { a, b, members } = await startOffice(set, ['carol'], WAIT)
  const c = members[0]!
  return { a, b, c, alice: await clientOf(b, 'alice'), carol: await clientOf(c, 'carol') }
}

/** Carol's second device, linked with a code from `from`, connected to A, with its client. */
async function linkPhone(from: OrgPeer, a: OrgPeer) {
  const { code } = await from.org.createDeviceLink({ addrs: [tcpAddr(a)] })
  const signer = newNodeSigner()
  const r = await redeemLink(nodeCrypto, code, signer)
  const d = await set.add({ root: r.root, networkKey: r.networkKey, signer, records: r.records })
  await connectOrg(d, a)
  return { d, phone: await clientOf(d, 'carol') }
}

const texts = async (c: ParleyClient, room: string): Promise<string[]> =>
  (await c.messages(room)).map((m) => m.text)

describe('a linked device and the account’s conversations', () => {
  it('[DEVDM1] the new device gets the dms with their history, a dm started on it is the same room, and its replies reach the other user as the same person', async () => {
    const { a, b, c, alice, carol } = await office()
    const aliceKey = authorId(b.signer.publicKey)
    const dm = await carol.startDm(aliceKey)
    expect(isUserRoom(dm)).toBe(true)
    await carol.post(dm, 'hi alice')
    await vi.waitFor(async () => {
      expect(alice.rooms().map((r) => r.id)).toContain(dm)
      expect(await texts(alice, dm)).toEqual(['hi alice'])
    }, WAIT)
    await alice.post(dm, 'hi carol')
    await vi.waitFor(async () => expect(await texts(carol, dm)).toContain('hi carol'), WAIT)

    const { d, phone } = await linkPhone(c, a)
    await vi.waitFor(async () => {
      expect(phone.rooms().map((r) => r.id)).toContain(dm)
      expect(await texts(phone, dm)).toEqual(['hi alice', 'hi carol'])
    }, WAIT)
    // the dm is titled by the other user on the new device, not by carol's first device
    const onPhone = phone.rooms().find((r) => r.id === dm)!
    expect(phone.nameOf(onPhone.peer!)).toBe('Alice')
    expect(await phone.startDm(aliceKey)).toBe(dm)

    await phone.post(dm, 'from the phone')
    await vi.waitFor(async () => {
      expect(await texts(alice, dm)).toEqual(['hi alice', 'hi carol', 'from the phone'])
      expect(await texts(carol, dm)).toContain('from the phone')
    }, WAIT)
    const byPhone = (await alice.messages(dm)).find((m) => m.text === 'from the phone')!
    expect(byPhone.author).toBe(authorId(d.signer.publicKey))
    expect(alice.nameOf(byPhone.author)).toBe('carol')
    expect(alice.people().filter((p) => p.userId === 'carol')).toHaveLength(1)
    // on the first device, what the phone wrote is ours: not unread (alice's reply is)
    await vi.waitFor(() => expect(carol.rooms().find((r) => r.id === dm)?.unread).toBe(1), WAIT)
    // alice starting the dm from her side lands in the same room
    expect(await alice.startDm(authorId(d.signer.publicKey))).toBe(dm)
  })

  // Retried: it failed in 3 of 6 fresh-clone full runs (never in 241 runs of this file alone), the
  // new device not joining the public room within 20 s; cause not found (see the closing note of
  // issue #6, 6 December). Every failed attempt is printed by vitest.
  it(
    '[DEVDM2] the new device shows the account’s rooms — public and private — with their history',
    { retry: 2 },
    async () => {
      const { a, b, c, carol } = await office()
      const plans = await carol.createRoom('Plans')
      await carol.post(plans, 'public plan')
      const secret = await c.messenger.encrypted.createPrivateRoom({
        name: 'Secret',
        members: [authorId(b.signer.publicKey)],
      })
      await carol.joinRoom(secret)
      await carol.post(secret, 'private plan')
      await carol.account.settled()

      const { phone } = await linkPhone(c, a)
      await vi.waitFor(async () => {
        // joined (the account room's records followed) before shown (the room's summary read)
        expect(phone.local.data.joined).toEqual(expect.arrayContaining(['general', plans, secret]))
        expect(phone.rooms().map((r) => r.id)).toEqual(
          expect.arrayContaining(['general', plans, secret]),
        )
        expect(await texts(phone, plans)).toEqual(['public plan'])
        expect(await texts(phone, secret)).toEqual(['private plan'])
      }, WAIT)
      // leaving on the new device leaves on the first too; joining there comes back here
      await phone.leaveRoom(plans)
      await vi.waitFor(() => expect(carol.rooms().map((r) => r.id)).not.toContain(plans), WAIT)
      await carol.joinRoom(plans)
      await vi.waitFor(() => expect(phone.rooms().map((r) => r.id)).toContain(plans), WAIT)
    },
  )

  it('[DEVDM3] a dm of two device keys made before dms were per user stays readable, and the new device gets it too', async () => {
    const { a, b, c, alice, carol } = await office()
    const aliceKey = authorId(b.signer.publicKey)
    const carolKey = authorId(c.signer.publicKey)
    // what startDm did before: the room of the two device keys, announced in sys.rooms
    const old = dmRoomId(carolKey, aliceKey)
    const members = [carolKey, aliceKey].sort()
    await c.messenger.createRoom(old, { kind: 'dm', members })
    await c.messenger.post(ROOMS_ROOM, encodeRecord({ t: 'dm', id: old, members }))
    await c.messenger.post(old, 'before the upgrade')
    await vi.waitFor(async () => {
      expect(await texts(alice, old)).toEqual(['before the upgrade'])
      expect(carol.rooms().map((r) => r.id)).toContain(old)
    }, WAIT)
    // the conversation with alice stays that room on the first device
    expect(await carol.startDm(aliceKey)).toBe(old)

    const { d, phone } = await linkPhone(c, a)
    await vi.waitFor(async () => {
      expect(phone.rooms().map((r) => r.id)).toContain(old)
      expect(await texts(phone, old)).toEqual(['before the upgrade'])
    }, WAIT)
    expect(await phone.startDm(aliceKey)).toBe(old)
    await phone.post(old, 'after the upgrade')
    await vi.waitFor(
      async () =>
        expect(await texts(alice, old)).toEqual(['before the upgrade', 'after the upgrade']),
      WAIT,
    )
    expect(alice.nameOf(authorId(d.signer.publicKey))).toBe('carol')
  })

  it('[DEVDM4] a dm of two users holds no one else: a third member naming itself in its key records is refused by every peer and reads nothing', async () => {
    const { a, b, members } = await startOffice(set, ['carol', 'dave'], WAIT)
    const [c, dave] = [members[0]!, members[1]!]
    const alice = await clientOf(b, 'alice')
    const carol = await clientOf(c, 'carol')
    const dm = await carol.startDm(authorId(b.signer.publicKey))
    await carol.post(dm, 'between us')
    await vi.waitFor(async () => expect(await texts(alice, dm)).toEqual(['between us']), WAIT)
    // dave holds the ciphertext (synced like any room) and writes a record adding itself, then posts
    const h = await dave.messenger.join(dm)
    await vi.waitFor(() => expect(h.keys.members()).toBeDefined(), WAIT)
    const keys = [...h.keys.memberKeys()!, dave.signer.publicKey]
    await h.write({ kind: 'members', members: keys, rotate: true })
    await dave.messenger.post(dm, 'let me in').catch(() => undefined)
    await dave.messenger.pushTo(a.net.peerId, dm, AbortSignal.timeout(10_000))
    await vi.waitFor(() => expect(a.messenger.get(dm)?.keys.members()).toBeDefined(), WAIT)
    for (const p of [a, b, c, dave])
      expect((await p.messenger.encrypted.members(dm)) ?? []).not.toContain(
        authorId(dave.signer.publicKey),
      )
    expect(await texts(alice, dm)).toEqual(['between us'])
    expect(await dave.messenger.messages(dm)).toEqual([])
    // carol and alice still write and read each other
    await alice.post(dm, 'still private')
    await vi.waitFor(async () => expect(await texts(carol, dm)).toContain('still private'), WAIT)
  })
})
