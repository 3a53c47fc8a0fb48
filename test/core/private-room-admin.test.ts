/**
 * Private rooms as the web app's facade offers them ({@link PrivateRoomAdmin} through ParleyClient),
 * on real peers of an org (libp2p over TCP on 127.0.0.1, SQLite): alice creates a room with bob,
 * whose client joins it by itself from the notice; carol (an org member, not in the room) neither
 * lists nor reads it; only the creator (or an admin) removes people; bob removed reads nothing new.
 * [PRIV3-4]: an org admin who is a member removes people from a room it did not make, also after the
 * creator left; a plain member is refused, and its record counts on no peer. [PRIV5]: a member's
 * device linked after the room was made, while the member's first device is away, is added by
 * another member and told by a notice: it lists the room, reads its history and writes; the members
 * list shows the user once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ParleyClient } from '../../src/core/client.ts'
import type { DeviceSigner } from '../../src/crdt/crypto.ts'
import { authorId } from '../../src/crdt/entry.ts'
import { redeemLink } from '../../src/core/org-join.ts'
import { nodeCrypto } from '../../src/node/crypto-node.ts'
import { ROOMS_ROOM, decodeRecord } from '../../src/crdt/directory.ts'
import {
  OrgPeerSet,
  connectOrg,
  newNodeSigner,
  startOffice,
  startOrgClient,
  tcpAddr,
  textsOf,
  type OrgPeer,
} from '../helpers/org-peers.ts'

const set = new OrgPeerSet()
afterEach(() => set.teardown())
const WAIT = { timeout: 20_000, interval: 50 }

/** The web app's client over an org peer, signed in as `userId` (stopped after each test). */
const clientOf = (p: OrgPeer, userId: string): Promise<ParleyClient> => set.client(p, userId)

describe('private rooms in the client', () => {
  it('[PRIV1] created with people, joined by notice, hidden from others, members managed by the creator', async () => {
    const { b: alicePeer, members } = await startOffice(set, ['bob', 'carol'], WAIT)
    const [bobPeer, carolPeer] = members as [OrgPeer, OrgPeer]
    const alice = await clientOf(alicePeer, 'alice')
    const bob = await clientOf(bobPeer, 'bob')
    const carol = await clientOf(carolPeer, 'carol')
    const bobId = bob.me.author

    const room = await alice.privateRooms.create('Board', 'numbers', [bobId])
    expect(room.startsWith('p.')).toBe(true)
    expect(alice.rooms().find((r) => r.id === room)).toMatchObject({
      name: 'Board',
      kind: 'private',
    })
    await alice.post(room, 'for the board only')

    // bob's client joins from the notice and reads it
    await vi.waitFor(async () => {
      expect(bob.rooms().find((r) => r.id === room)).toMatchObject({
        name: 'Board',
        kind: 'private',
      })
      expect(await textsOf(bobPeer, room)).toEqual(['for the board only'])
    }, WAIT)
    await bob.post(room, 'bob agrees')
    await vi.waitFor(
      async () =>
        expect(await textsOf(alicePeer, room)).toEqual(['for the board only', 'bob agrees']),
      WAIT,
    )
    const people = await alice.privateRooms.members(room)
    expect(people?.map((m) => [m.userId, m.creator, m.self])).toEqual([
      ['alice', true, true],
      ['bob', false, false],
    ])
    expect(alice.privateRooms.canRemove(people!)).toBe(true)
    const bobSees = (await bob.privateRooms.members(room))!
    expect(bob.privateRooms.canRemove(bobSees)).toBe(false)
    await expect(bob.privateRooms.remove(room, alice.me.author)).rejects.toMatchObject({
      name: 'RoomPermissionError',
    })

    // carol: not in her list, not in browse; her peer (retainAll) holds the room and reads nothing
    await vi.waitFor(
      async () =>
        expect(
          (await carolPeer.messenger.messages(ROOMS_ROOM)).some(
            (m) => decodeRecord(m.text)?.t === 'private',
          ),
        ).toBe(true),
      WAIT,
    )
    expect(carol.rooms().map((r) => r.id)).not.toContain(room)
    expect(carol.browse().map((r) => r.id)).not.toContain(room)
    await carolPeer.messenger.join(room)
    await vi.waitFor(async () => {
      const held = await carolPeer.messenger.get(room)!.authors()
      expect(held.length).toBeGreaterThanOrEqual(2)
    }, WAIT)
    expect(await textsOf(carolPeer, room)).toEqual([])
    expect(await carolPeer.messenger.roomMeta(room)).toBeUndefined()

    // alice removes bob: bob's summary shows he is out; what alice writes next he cannot read
    await alice.privateRooms.remove(room, bobId)
    await vi.waitFor(() => {
      expect(bob.rooms().find((r) => r.id === room)?.members).toEqual([alice.me.author])
    }, WAIT)
    await alice.post(room, 'after bob left')
    await vi.waitFor(async () => {
      const locked = await bobPeer.messenger.get(room)!.locked()
      expect(locked.length).toBeGreaterThan(0)
    }, WAIT)
    expect(await textsOf(bobPeer, room)).toEqual(['for the board only', 'bob agrees'])
    await expect(bob.post(room, 'still here?')).rejects.toMatchObject({
      name: 'NotRoomMemberError',
    })

    // adding carol later: she is told, joins, and reads the whole history
    await alice.privateRooms.add(room, carol.me.author)
    await vi.waitFor(async () => {
      expect(carol.rooms().map((r) => r.id)).toContain(room)
      expect(await textsOf(carolPeer, room)).toEqual([
        'for the board only',
        'bob agrees',
        'after bob left',
      ])
    }, WAIT)
  })

  it('[PRIV2] only the creator removes others: another member is refused, and a record it writes anyway counts on no peer', async () => {
    const { b: alicePeer, members } = await startOffice(set, ['bob', 'carol'], WAIT)
    const [bobPeer, carolPeer] = members as [OrgPeer, OrgPeer]
    const [bobId, carolId] = [bobPeer, carolPeer].map((p) => authorId(p.signer.publicKey))
    const room = await alicePeer.messenger.encrypted.createPrivateRoom({
      name: 'Trio',
      members: [bobId!, carolId!],
    })
    await alicePeer.messenger.post(room, 'one')
    for (const p of [bobPeer, carolPeer]) {
      await p.messenger.join(room)
      await vi.waitFor(async () => expect(await textsOf(p, room)).toEqual(['one']), WAIT)
    }
    await expect(bobPeer.messenger.encrypted.removeMember(room, carolId!)).rejects.toMatchObject({
      name: 'NotRoomRemoverError',
    })
    // bob's peer writes the record anyway (a modified client): a new epoch without carol
    const h = bobPeer.messenger.get(room)!
    const rest = [alicePeer, bobPeer].map((p) => p.signer.publicKey)
    await h.write({ kind: 'members', members: rest, rotate: true })
    const seq = h.author(bobPeer.signer.publicKey)!.head.seq
    for (const p of [alicePeer, carolPeer])
      await vi.waitFor(
        () => expect(p.messenger.get(room)!.author(bobPeer.signer.publicKey)?.contig).toBe(seq),
        WAIT,
      )
    const all = [alicePeer, bobPeer, carolPeer].map((p) => authorId(p.signer.publicKey)).sort()
    for (const p of [alicePeer, bobPeer, carolPeer])
      expect(await p.messenger.encrypted.members(room)).toEqual(all)
    // carol still reads what bob and alice write next; leaving is hers to do
    await bobPeer.messenger.post(room, 'two')
    // alice answers once she has read it: written apart, 'two' and 'three' in the same millisecond
    // would be concurrent, and ordered by author
    await vi.waitFor(
      async () => expect(await textsOf(alicePeer, room)).toEqual(['one', 'two']),
      WAIT,
    )
    await alicePeer.messenger.post(room, 'three')
    await vi.waitFor(
      async () => expect(await textsOf(carolPeer, room)).toEqual(['one', 'two', 'three']),
      WAIT,
    )
    await carolPeer.messenger.encrypted.removeMember(room, carolId!)
    await vi.waitFor(
      async () => expect(await alicePeer.messenger.encrypted.members(room)).not.toContain(carolId),
      WAIT,
    )
  })

  /** Bob (plain member) makes a room with admin alice, carol and dave; every peer reads 'one'. */
  async function bobsRoom() {
    const office = await startOffice(set, ['bob', 'carol', 'dave'], WAIT)
    const alicePeer = office.b
    const [bobPeer, carolPeer, davePeer] = office.members as [OrgPeer, OrgPeer, OrgPeer]
    const id = (p: OrgPeer): string => authorId(p.signer.publicKey)
    const room = await bobPeer.messenger.encrypted.createPrivateRoom({
      name: 'Bob’s',
      members: [alicePeer, carolPeer, davePeer].map(id),
    })
    await bobPeer.messenger.post(room, 'one')
    const all = [alicePeer, bobPeer, carolPeer, davePeer]
    for (const p of all) {
      await p.messenger.join(room)
      await vi.waitFor(async () => expect(await textsOf(p, room)).toEqual(['one']), WAIT)
    }
    return { room, alicePeer, bobPeer, carolPeer, davePeer, all, id }
  }

  /** Waits until every peer of `peers` holds `by`'s entries of `room` up to its head. */
  async function seenBy(peers: OrgPeer[], room: string, by: DeviceSigner, from: OrgPeer) {
    const seq = from.messenger.get(room)!.author(by.publicKey)!.head.seq
    for (const p of peers)
      await vi.waitFor(
        () => expect(p.messenger.get(room)!.author(by.publicKey)?.contig).toBe(seq),
        WAIT,
      )
  }

  it('[PRIV3] an org admin in the room removes someone from a room it did not make, on every peer; a plain member is refused and its record counts nowhere', async () => {
    const { room, alicePeer, bobPeer, carolPeer, davePeer, all, id } = await bobsRoom()
    // alice's client offers her Remove (admin, not creator); carol's does not
    const alice = await clientOf(alicePeer, 'alice')
    const carol = await clientOf(carolPeer, 'carol')
    const aliceSees = (await alice.privateRooms.members(room))!
    expect(aliceSees.map((m) => [m.userId, m.creator, m.admin])).toEqual([
      ['bob', true, false],
      ['alice', false, true],
      ['carol', false, false],
      ['dave', false, false],
    ])
    expect(alice.privateRooms.canRemove(aliceSees)).toBe(true)
    expect(carol.privateRooms.canRemove((await carol.privateRooms.members(room))!)).toBe(false)
    await expect(carol.privateRooms.remove(room, id(davePeer))).rejects.toMatchObject({
      name: 'RoomPermissionError',
    })

    // carol, a plain member: refused; the record her (modified) peer writes anyway counts on no peer
    await expect(
      carolPeer.messenger.encrypted.removeMember(room, id(davePeer)),
    ).rejects.toMatchObject({ name: 'NotRoomRemoverError' })
    const rogue = [alicePeer, bobPeer, carolPeer].map((p) => p.signer.publicKey)
    await carolPeer.messenger.get(room)!.write({ kind: 'members', members: rogue, rotate: true })
    await seenBy(all, room, carolPeer.signer, carolPeer)
    const four = all.map(id).sort()
    for (const p of all) expect(await p.messenger.encrypted.members(room)).toEqual(four)

    // alice, an admin who did not make the room, removes dave: every peer agrees
    await alice.privateRooms.remove(room, id(davePeer))
    const three = [alicePeer, bobPeer, carolPeer].map(id).sort()
    for (const p of all)
      await vi.waitFor(
        async () => expect(await p.messenger.encrypted.members(room)).toEqual(three),
        WAIT,
      )
    // what is written after, dave cannot read; what dave writes after, nobody takes
    await alicePeer.messenger.post(room, 'after dave')
    for (const p of [bobPeer, carolPeer])
      await vi.waitFor(
        async () => expect(await textsOf(p, room)).toEqual(['one', 'after dave']),
        WAIT,
      )
    await vi.waitFor(
      async () => expect((await davePeer.messenger.get(room)!.locked()).length).toBeGreaterThan(0),
      WAIT,
    )
    expect(await textsOf(davePeer, room)).toEqual(['one'])
    await expect(davePeer.messenger.post(room, 'dave again')).rejects.toMatchObject({
      name: 'NotRoomMemberError',
    })
  })

  it('[PRIV4] after the creator left, an admin in the room still removes people; the removed one reads nothing written after', async () => {
    const { room, alicePeer, bobPeer, carolPeer, davePeer, all, id } = await bobsRoom()
    // bob (the creator) leaves: a remaining member rotates the key
    await bobPeer.messenger.encrypted.removeMember(room, id(bobPeer))
    const three = [alicePeer, carolPeer, davePeer].map(id).sort()
    for (const p of all)
      await vi.waitFor(
        async () => expect(await p.messenger.encrypted.members(room)).toEqual(three),
        WAIT,
      )
    // carol cannot remove; alice (admin) removes carol
    await expect(
      carolPeer.messenger.encrypted.removeMember(room, id(davePeer)),
    ).rejects.toMatchObject({ name: 'NotRoomRemoverError' })
    await alicePeer.messenger.encrypted.removeMember(room, id(carolPeer))
    const two = [alicePeer, davePeer].map(id).sort()
    for (const p of all)
      await vi.waitFor(
        async () => expect(await p.messenger.encrypted.members(room)).toEqual(two),
        WAIT,
      )
    await alicePeer.messenger.post(room, 'without carol')
    await vi.waitFor(
      async () => expect(await textsOf(davePeer, room)).toEqual(['one', 'without carol']),
      WAIT,
    )
    for (const p of [bobPeer, carolPeer]) {
      await vi.waitFor(
        async () => expect((await p.messenger.get(room)!.locked()).length).toBeGreaterThan(0),
        WAIT,
      )
      expect(await textsOf(p, room)).toEqual(['one'])
    }
  })

  it('[PRIV5] a device linked after the room was made, its user’s first device away: another member adds it, a notice names it, it lists, reads and writes; the members list shows the user once', async () => {
    const { a, b: alicePeer, members } = await startOffice(set, ['bob'], WAIT)
    const laptopPeer = members[0]!
    const alice = await clientOf(alicePeer, 'alice')
    const laptop = await startOrgClient(laptopPeer, 'bob')
    const room = await alice.privateRooms.create('Pair', '', [laptop.me.author])
    await alice.post(room, 'before the phone')
    await vi.waitFor(
      async () => expect(await textsOf(laptopPeer, room)).toEqual(['before the phone']),
      WAIT,
    )
    // bob links his phone, then closes the laptop
    const { code } = await laptopPeer.org.createDeviceLink({ addrs: [tcpAddr(a)] })
    await laptop.stop()
    await laptopPeer.stop()
    const signer = newNodeSigner()
    const r = await redeemLink(nodeCrypto, code, signer)
    const phonePeer = await set.add({
      root: r.root,
      networkKey: r.networkKey,
      signer,
      records: r.records,
    })
    await connectOrg(phonePeer, a)
    const phone = await clientOf(phonePeer, 'bob')
    const phoneId = authorId(signer.publicKey)

    // alice's peer adds the phone and names it in a notice: the phone's client joins and reads
    await vi.waitFor(async () => {
      const notices = (await alicePeer.messenger.messages(ROOMS_ROOM)).map((m) =>
        decodeRecord(m.text),
      )
      expect(notices).toContainEqual({ t: 'private', id: room, members: [phoneId] })
      expect(phone.rooms().find((x) => x.id === room)).toMatchObject({
        name: 'Pair',
        kind: 'private',
      })
      expect(await textsOf(phonePeer, room)).toEqual(['before the phone'])
    }, WAIT)
    const people = (await alice.privateRooms.members(room))!
    expect(people.map((m) => [m.userId, m.keys.length, m.self])).toEqual([
      ['alice', 1, true],
      ['bob', 2, false],
    ])
    expect(people[1]!.keys).toContain(phoneId)
    const phoneSees = (await phone.privateRooms.members(room))!
    expect(phoneSees.map((m) => [m.userId, m.self])).toEqual([
      ['alice', false],
      ['bob', true],
    ])
    expect(phone.privateRooms.canRemove(phoneSees)).toBe(false)

    await phone.post(room, 'from the phone')
    await vi.waitFor(
      async () =>
        expect(await textsOf(alicePeer, room)).toEqual(['before the phone', 'from the phone']),
      WAIT,
    )
    const last = (await alicePeer.messenger.messages(room)).at(-1)!
    expect(alice.nameOf(last.author)).toBe('bob')
  })
})
