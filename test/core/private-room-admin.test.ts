/**
 * Private rooms as the web app's facade offers them ({@link PrivateRoomAdmin} through ParleyClient),
 * on real peers of an org (libp2p over TCP on 127.0.0.1, SQLite): alice creates a room with bob,
 * whose client joins it by itself from the notice; carol (an org member, not in the room) neither
 * lists nor reads it; only the creator (or an admin) removes people; bob removed reads nothing new.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ParleyClient } from '../../src/core/client.ts'
import { authorId } from '../../src/crdt/entry.ts'
import { ROOMS_ROOM, decodeRecord } from '../../src/crdt/directory.ts'
import {
  OrgPeerSet,
  startOffice,
  startOrgClient,
  textsOf,
  type OrgPeer,
} from '../helpers/org-peers.ts'

const set = new OrgPeerSet()
const clients: ParleyClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) await c.stop()
  await set.teardown()
})
const WAIT = { timeout: 20_000, interval: 50 }

/** The web app's client over an org peer, signed in as `userId` (stopped after each test). */
async function clientOf(p: OrgPeer, userId: string): Promise<ParleyClient> {
  const client = await startOrgClient(p, userId)
  clients.push(client)
  return client
}

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
      name: 'NotRoomCreatorError',
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
})
