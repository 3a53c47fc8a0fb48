/**
 * Encrypted rooms of an organisation on real peers (libp2p over TCP on 127.0.0.1 with Noise, SQLite):
 * room keys go only to device keys the org's signed directory certifies, a revocation rotates the
 * room so the revoked member reads nothing written after, concurrent rotations converge, and a
 * member's new device is handed every epoch key. src/core/room-keys.ts, src/core/key-rotation.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  META_PERIOD,
  decodeEntry,
  encodeEntry,
  signHead,
  type Entry,
} from '../../src/crdt/entry.ts'
import { encodeKeyRecord, epochHex, newEpoch, sealedEpoch } from '../../src/crdt/e2ee.ts'
import { authorId } from '../../src/crdt/entry.ts'
import { idOf, keyRecords, relayAll, untilHolds } from '../helpers/org-history.ts'
import {
  OrgPeerSet,
  connectOrg,
  newNodeSigner,
  startOffice,
  textsOf,
  type OrgPeer,
} from '../helpers/org-peers.ts'

const set = new OrgPeerSet()
afterEach(() => set.teardown())

const WAIT = { timeout: 20_000, interval: 50 }

/**
 * Office Node peer A (root, role peer, no room member), admin alice on B, members carol on C and
 * dave on D (joined by invitations), all connected through A.
 */
async function office() {
  const { o, a, b, members } = await startOffice(set, ['carol', 'dave'], WAIT)
  return { o, a, b, c: members[0]!, d: members[1]! }
}

/** Appends an entry carrying `update` to `p`'s chain in `room` (the meta period), signed by `p`. */
async function appendRaw(p: OrgPeer, room: string, update: Uint8Array): Promise<void> {
  const h = await p.messenger.join(room)
  const me = p.signer.publicKey
  const head = h.author(me)?.head
  const seq = (head?.seq ?? 0) + 1
  const entry: Entry = {
    room,
    author: me,
    seq,
    prev: head?.hash ?? new Uint8Array(32),
    hlc: { wall: Date.now(), count: 0 },
    period: META_PERIOD,
    update,
  }
  const bytes = encodeEntry(entry)
  const hash = p.messenger.identity.crypto.sha256(bytes)
  const { sig } = await signHead(p.signer, room, seq, hash)
  await p.store.append(room, [{ author: me, seq, hash, period: META_PERIOD, bytes }], {
    author: me,
    seq,
    hash,
    sig,
  })
  await h.reload()
}

describe('encrypted rooms of an organisation', () => {
  it('[E2EEO1] keys go only to certified devices: an outsider is refused, a record wrapping for one does not count', async () => {
    const { a, b, c, d } = await office()
    const outsider = newNodeSigner().publicKey
    await expect(
      b.messenger.encrypted.createPrivateRoom({
        name: 'Leak',
        members: [idOf(c), authorId(outsider)],
      }),
    ).rejects.toMatchObject({ name: 'NotOrgMemberError' })

    const room = await b.messenger.encrypted.createPrivateRoom({
      name: 'Plans',
      members: [idOf(c)],
    })
    expect(
      (await keyRecords(b, room)).flatMap((r) => r.record.recipients.map(authorId)).sort(),
    ).toEqual([idOf(b), idOf(c)].sort())
    await b.messenger.post(room, 'first plan')
    await c.messenger.join(room)
    await vi.waitFor(async () => expect(await textsOf(c, room)).toEqual(['first plan']), WAIT)
    await c.messenger.post(room, 'noted')
    await expect(b.messenger.encrypted.addMember(room, authorId(outsider))).rejects.toMatchObject({
      name: 'NotOrgMemberError',
    })
    await expect(b.messenger.encrypted.grantDevice(authorId(outsider))).rejects.toMatchObject({
      name: 'NotOrgMemberError',
    })

    // carol (a member) forges a record that wraps a new epoch for an outsider and for dave
    const held = c.messenger.get(room)!.keys.held()
    const forged = encodeKeyRecord({
      room,
      issuer: c.signer.publicKey,
      recipients: [b.signer.publicKey, c.signer.publicKey, d.signer.publicKey, outsider],
      epoch: { ...newEpoch(), history: held },
    })
    await appendRaw(c, room, forged)
    await c.messenger.pushTo(a.net.peerId, room)
    await untilHolds(b, c, room, WAIT)
    // dave, a member of the org but not of the room, writes a record adding himself
    const joining = encodeKeyRecord({
      room,
      issuer: d.signer.publicKey,
      recipients: [b.signer.publicKey, c.signer.publicKey, d.signer.publicKey],
      epoch: { ...newEpoch(), history: new Map() },
    })
    await appendRaw(d, room, joining)
    await d.messenger.pushTo(a.net.peerId, room)
    await untilHolds(b, d, room, WAIT)
    // b stores both (signed by org members) but neither counts: members and the epoch stay
    expect((await keyRecords(b, room)).length).toBe(3)
    expect(await b.messenger.encrypted.members(room)).toEqual([idOf(b), idOf(c)].sort())
    await b.messenger.post(room, 'second plan')
    await vi.waitFor(
      async () => expect(await textsOf(c, room)).toEqual(['first plan', 'noted', 'second plan']),
      WAIT,
    )
  })

  it('[E2EEO2] a revoked member: a remaining member rotates, later messages use the new key, the revoked one cannot read them', async () => {
    const { a, b, c, d } = await office()
    const room = await b.messenger.encrypted.createPrivateRoom({
      name: 'Board',
      members: [idOf(c), idOf(d)],
    })
    await b.messenger.post(room, 'before')
    for (const p of [c, d]) await p.messenger.join(room)
    for (const p of [c, d])
      await vi.waitFor(async () => expect(await textsOf(p, room)).toEqual(['before']), WAIT)
    const epochsBefore = (await keyRecords(b, room)).length

    await b.org.revoke('dave')
    // a remaining member (b or c) starts an epoch wrapped for b and c only
    await vi.waitFor(async () => {
      const records = await keyRecords(c, room)
      expect(records.length).toBeGreaterThan(epochsBefore)
      const rotations = records.filter(
        (r) => r.record.keyed !== undefined && r.record.recipients.length === 2,
      )
      expect(rotations.map((r) => r.record.recipients.map(authorId).sort())).toContainEqual(
        [idOf(b), idOf(c)].sort(),
      )
    }, WAIT)
    expect(await c.messenger.encrypted.members(room)).toEqual([idOf(b), idOf(c)].sort())
    await untilHolds(c, b, room, WAIT)
    const posted = await c.messenger.post(room, 'after the revocation')
    await vi.waitFor(
      async () => expect(await textsOf(b, room)).toEqual(['before', 'after the revocation']),
      WAIT,
    )

    // the message is sealed under the newest epoch, which dave was not given
    const mine = await c.store.entries(room, c.signer.publicKey, posted.seq, posted.seq)
    const sealed = decodeEntry(mine[0]!.bytes)
    const epoch = epochHex(sealedEpoch(sealed.update))
    const starts = (await keyRecords(c, room)).filter(
      (r) => r.record.keyed !== undefined && epochHex(r.record.keyed.epoch) === epoch,
    )
    expect(starts.length).toBe(1)
    expect(starts[0]!.record.recipients.map(authorId).sort()).toEqual([idOf(b), idOf(c)].sort())

    // dave is cut off; even handed every entry directly, he stores them and reads nothing new
    await vi.waitFor(() => expect(a.net.peers()).not.toContain(d.net.peerId), WAIT)
    await relayAll(c, d, room)
    await untilHolds(d, c, room, WAIT)
    expect(await textsOf(d, room)).toEqual(['before'])
    const locked = await d.messenger.get(room)!.locked()
    expect(locked.map((e) => e.seq)).toContain(posted.seq)
    await expect(d.messenger.post(room, 'still here?')).rejects.toMatchObject({
      name: 'NotRoomMemberError',
    })
  })

  it('[E2EEO5] a member leaving: a remaining member rotates at once, without writing a message', async () => {
    const { b, c, d } = await office()
    const room = await b.messenger.encrypted.createPrivateRoom({
      name: 'Exit',
      members: [idOf(c), idOf(d)],
    })
    await b.messenger.post(room, 'before')
    for (const p of [c, d]) await p.messenger.join(room)
    await vi.waitFor(async () => expect(await textsOf(d, room)).toEqual(['before']), WAIT)
    await d.messenger.encrypted.removeMember(room, idOf(d))
    await vi.waitFor(async () => {
      const rotations = (await keyRecords(c, room)).filter(
        (r) => r.record.keyed !== undefined && r.record.recipients.length === 2,
      )
      expect(rotations.map((r) => r.record.recipients.map(authorId).sort())).toContainEqual(
        [idOf(b), idOf(c)].sort(),
      )
    }, WAIT)
    await untilHolds(b, c, room, WAIT)
    await untilHolds(c, b, room, WAIT)
    await b.messenger.post(room, 'after')
    await vi.waitFor(async () => expect(await textsOf(c, room)).toEqual(['before', 'after']), WAIT)
    await untilHolds(d, b, room, WAIT)
    expect(await textsOf(d, room)).toEqual(['before'])
  })

  it('[E2EEO3] two members rotating at once converge on one epoch; both read each other after', async () => {
    const { b, c, d } = await office()
    const room = await b.messenger.encrypted.createPrivateRoom({
      name: 'Trio',
      members: [idOf(c), idOf(d)],
    })
    await b.messenger.post(room, 'one')
    for (const p of [c, d]) await p.messenger.join(room)
    await vi.waitFor(async () => expect(await textsOf(c, room)).toEqual(['one']), WAIT)
    await untilHolds(c, b, room, WAIT)
    // both remove dave at the same moment: neither has the other's record when writing
    const hb = b.messenger.get(room)!
    const hc = c.messenger.get(room)!
    const two = [b.signer.publicKey, c.signer.publicKey]
    await Promise.all([
      hb.write({ kind: 'members', members: two, rotate: true }),
      hc.write({ kind: 'members', members: two, rotate: true }),
    ])
    await b.messenger.syncNow()
    await c.messenger.syncNow()
    await untilHolds(b, c, room, WAIT)
    await untilHolds(c, b, room, WAIT)
    const current = (p: OrgPeer): string => {
      const plan = p.messenger.get(room)!.keys.plan(undefined)
      if (!('epoch' in plan)) throw new Error('no current epoch')
      return epochHex(plan.epoch)
    }
    expect(current(b)).toBe(current(c))
    await b.messenger.post(room, 'from b')
    await c.messenger.post(room, 'from c')
    for (const p of [b, c])
      await vi.waitFor(
        async () => expect((await textsOf(p, room)).sort()).toEqual(['from b', 'from c', 'one']),
        WAIT,
      )
    await untilHolds(d, b, room, WAIT)
    expect(await textsOf(d, room)).toEqual(['one'])
  })

  it('[E2EEO4] a new device of a member gets every epoch key: by its own user automatically, or by any other member (by itself after a wait, or on request)', async () => {
    const { o, a, b, c, d } = await office()
    const room = await b.messenger.encrypted.createPrivateRoom({
      name: 'Ops',
      members: [idOf(c), idOf(d)],
    })
    await b.messenger.post(room, 'epoch one')
    await b.messenger.encrypted.removeMember(room, idOf(d))
    await b.messenger.post(room, 'epoch two')
    await c.messenger.join(room)
    await vi.waitFor(
      async () => expect(await textsOf(c, room)).toEqual(['epoch one', 'epoch two']),
      WAIT,
    )
    await untilHolds(a, b, room, WAIT)

    // alice's second device: her first device (online) hands it the room
    const b2Signer = newNodeSigner()
    const b2Cert = await b.org.issueCertificate({
      userId: 'alice',
      name: 'Alice',
      key: b2Signer.publicKey,
      role: 'admin',
    })
    const b2 = await set.add({
      root: o.root,
      networkKey: o.networkKey,
      signer: b2Signer,
      records: b.org.records().concat(b2Cert),
    })
    await connectOrg(b2, a)
    await vi.waitFor(
      async () => expect(await b.messenger.encrypted.members(room)).toContain(idOf(b2)),
      WAIT,
    )
    await b2.messenger.join(room)
    await vi.waitFor(
      async () => expect(await textsOf(b2, room)).toEqual(['epoch one', 'epoch two']),
      WAIT,
    )

    // carol's second device while carol is offline: another member (alice) grants it
    await c.stop()
    const c2Signer = newNodeSigner()
    const c2Cert = await b.org.issueCertificate({
      userId: 'carol',
      name: 'carol',
      key: c2Signer.publicKey,
      role: 'member',
    })
    await vi.waitFor(() => expect(a.org.isMember(c2Signer.publicKey)).toBe(true), WAIT)
    // alice's devices add it by themselves after their rank's wait (key-rotation.ts); on request at once
    const granted = await b.messenger.encrypted.grantDevice(authorId(c2Signer.publicKey))
    expect([[], [room]]).toContainEqual(granted)
    await vi.waitFor(
      async () =>
        expect(await b.messenger.encrypted.members(room)).toContain(authorId(c2Signer.publicKey)),
      WAIT,
    )
    await untilHolds(a, b, room, WAIT)
    await b.stop()
    await b2.stop()
    const c2 = await set.add({
      root: o.root,
      networkKey: o.networkKey,
      signer: c2Signer,
      records: a.org.records().concat(c2Cert),
    })
    await connectOrg(c2, a)
    await c2.messenger.join(room)
    await vi.waitFor(
      async () => expect(await textsOf(c2, room)).toEqual(['epoch one', 'epoch two']),
      WAIT,
    )
    // dave, removed before, is not handed anything
    expect(await c2.messenger.encrypted.members(room)).not.toContain(idOf(d))
  })
})
