/**
 * End-to-end encrypted rooms over real libp2p (TCP on 127.0.0.1, Noise): members read each other,
 * an always-on peer that is no member stores and serves the ciphertext without reading it, a member
 * added later reads the history, a removed member reads nothing written after the rotation, and
 * ciphertext that does not open is refused. Formats: src/crdt/e2ee.ts.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PeerSet, connect, untilTexts, type TestPeer } from '../helpers/peers.ts'
import { META_PERIOD, encodeEntry, periodOf, signHead, type Entry } from '../../src/crdt/entry.ts'
import { sealUpdate, updateKind } from '../../src/crdt/e2ee.ts'
import { dmRoomId } from '../../src/crdt/room-ids.ts'
import { PeriodDoc } from '../../src/crdt/period-doc.ts'

/** Every byte of the peer's SQLite files (database and write-ahead log). */
function storeBytes(p: TestPeer): Buffer {
  const files = readdirSync(p.dir).filter((f) => f.startsWith('history.db'))
  return Buffer.concat(files.map((f) => readFileSync(join(p.dir, f))))
}

/** Waits until `p` stores every entry `from` holds of `room`. */
async function untilHolds(p: TestPeer, from: TestPeer, room: string): Promise<void> {
  await vi.waitFor(
    async () => {
      const want = await from.messenger.get(room)!.authors()
      const h = p.messenger.get(room)
      if (h === undefined) throw new Error('room not held yet')
      for (const a of want) {
        const got = h.author(a.author)
        if ((got?.contig ?? 0) < a.head.seq) throw new Error('entries missing')
      }
    },
    { timeout: 20_000, interval: 25 },
  )
}

/**
 * Appends to `p`'s own chain in `room` one entry whose update is `update(plainYjsUpdate, seq)`,
 * signed by `p` (a member misbehaving, or a bug), and pushes it to `to`.
 */
async function writeRaw(
  p: TestPeer,
  to: TestPeer,
  room: string,
  text: string,
  update: (plain: Uint8Array, seq: number, period: number) => Uint8Array,
): Promise<number> {
  const h = p.messenger.get(room)!
  const me = p.messenger.identity.signer.publicKey
  const head = h.author(me)!.head
  const wall = Date.now()
  const period = periodOf(wall)
  const seq = head.seq + 1
  const doc = new PeriodDoc(room, period)
  const ctx = p.messenger.identity.ctxFor(me, seq, room, period)
  const { update: plain } = doc.post(ctx, text, { wall, count: 0 })
  doc.destroy()
  const entry: Entry = {
    room,
    author: me,
    seq,
    prev: head.hash,
    hlc: { wall, count: 0 },
    period,
    update: update(plain, seq, period),
  }
  const bytes = encodeEntry(entry)
  const hash = p.messenger.identity.crypto.sha256(bytes)
  const { sig } = await signHead(p.messenger.identity.signer, room, seq, hash)
  await p.store.append(room, [{ author: me, seq, hash, period, bytes }], {
    author: me,
    seq,
    hash,
    sig,
  })
  await h.reload()
  expect(await p.messenger.pushTo(to.net.peerId, room)).toBe(seq)
  return seq
}

describe('end-to-end encrypted rooms', () => {
  const set = new PeerSet()
  afterEach(() => set.teardown())

  it('[E2EE1] members read each other; a non-member node serves ciphertext it cannot read to a member added later', async () => {
    const node = await set.add({ retainAll: true })
    const [a, b] = [await set.add({ retainAll: false }), await set.add({ retainAll: false })]
    await connect(a, node)
    await connect(b, node)
    const room = await a.messenger.encrypted.createPrivateRoom({
      name: 'Merger talks',
      members: [b.messenger.authorId],
    })
    await a.messenger.post(room, 'the eagle lands at nine')
    await b.messenger.join(room)
    await untilTexts(b, room, ['the eagle lands at nine'])
    await b.messenger.post(room, 'bring the quarterly numbers')
    const both = ['the eagle lands at nine', 'bring the quarterly numbers']
    await untilTexts(a, room, both)
    expect((await b.messenger.roomMeta(room))?.name).toBe('Merger talks')
    expect(await a.messenger.encrypted.members(room)).toEqual(
      [a.messenger.authorId, b.messenger.authorId].sort(),
    )

    // the node holds every entry, verified, and reads none of them
    await untilHolds(node, a, room)
    await untilHolds(node, b, room)
    expect(await node.messenger.messages(room)).toEqual([])
    expect(await node.messenger.roomMeta(room)).toBeUndefined()
    expect((await node.messenger.verifyHistory(room)).problems).toEqual([])

    // a third member, added while a is online, gets the history from the node alone
    const c = await set.add({ retainAll: false })
    await a.messenger.encrypted.addMember(room, c.messenger.authorId)
    await untilHolds(node, a, room)
    await a.stop()
    await b.stop()
    await connect(c, node)
    await c.messenger.join(room)
    await untilTexts(c, room, both)
    expect((await c.messenger.roomMeta(room))?.name).toBe('Merger talks')

    await node.messenger.get(room)!.flush()
    const bytes = storeBytes(node)
    expect(bytes.length).toBeGreaterThan(0)
    for (const secret of ['eagle', 'quarterly', 'Merger talks'])
      expect(bytes.indexOf(Buffer.from(secret))).toBe(-1)
    // the members' own stores hold the plaintext: the test would see it if it were there
    await c.messenger.get(room)!.flush()
    expect(storeBytes(c).indexOf(Buffer.from('eagle'))).toBeGreaterThan(-1)
  })

  it('[E2EE2] a removed member cannot read what is written after the rotation, nor write', async () => {
    const [a, b, c] = [await set.add(), await set.add(), await set.add()]
    await connect(a, b)
    await connect(b, c)
    await connect(a, c)
    const room = await a.messenger.encrypted.createPrivateRoom({
      name: 'Board',
      members: [b.messenger.authorId, c.messenger.authorId],
    })
    await a.messenger.post(room, 'before')
    for (const p of [b, c]) await p.messenger.join(room)
    for (const p of [b, c]) await untilTexts(p, room, ['before'])

    await a.messenger.encrypted.removeMember(room, c.messenger.authorId)
    await a.messenger.post(room, 'after the rotation')
    await untilTexts(b, room, ['before', 'after the rotation'])
    await untilHolds(c, a, room)
    // c stores the new entry, cannot open it, and shows it as waiting for a key
    expect((await c.messenger.messages(room)).map((m) => m.text)).toEqual(['before'])
    const locked = await c.messenger.get(room)!.locked()
    expect(locked.map((e) => updateKind(e.update))).toEqual(['sealed'])
    expect(await c.messenger.encrypted.members(room)).toEqual(
      [a.messenger.authorId, b.messenger.authorId].sort(),
    )
    await expect(c.messenger.post(room, 'let me back in')).rejects.toMatchObject({
      name: 'NotRoomMemberError',
    })
  })

  it('[E2EE6] a removed member writing under the epoch key it still holds is refused by the members; re-added, it writes again', async () => {
    const [a, b, c] = [await set.add(), await set.add(), await set.add()]
    await connect(a, b)
    await connect(a, c)
    await connect(b, c)
    const room = await a.messenger.encrypted.createPrivateRoom({
      name: 'Board',
      members: [b.messenger.authorId, c.messenger.authorId],
    })
    await a.messenger.post(room, 'before')
    for (const p of [b, c]) await p.messenger.join(room)
    await untilTexts(c, room, ['before'])
    // c writes while a member (in the meta document: its clock in today's document stays 0 for
    // the hand-made entry below)
    await c.messenger.createRoom(room, { topic: 'set by c' })
    await vi.waitFor(async () => expect((await a.messenger.roomMeta(room))?.topic).toBe('set by c'))
    const old = c.messenger.get(room)!.keys.plan(undefined)
    if (!('key' in old)) throw new Error('c holds the current epoch')

    await a.messenger.encrypted.removeMember(room, c.messenger.authorId)
    await untilHolds(c, a, room)
    await untilHolds(b, a, room)
    // c seals under the old epoch, which every member still holds and whose recipients include c
    const me = c.messenger.identity.signer.publicKey
    await writeRaw(c, a, room, 'sneaked in', (plain, seq, period) =>
      sealUpdate(old.epoch, old.key, { room, author: me, seq, period }, plain),
    )
    await c.messenger.pushTo(b.net.peerId, room)
    for (const p of [a, b]) await untilHolds(p, c, room)
    await a.messenger.post(room, 'after')
    for (const p of [a, b]) await untilTexts(p, room, ['before', 'after'])
    expect(await a.messenger.get(room)!.locked()).toEqual([])

    await a.messenger.encrypted.addMember(room, c.messenger.authorId)
    await untilHolds(c, a, room)
    await c.messenger.post(room, 'back in')
    const texts = ['before', 'after', 'back in']
    for (const p of [a, b]) await untilTexts(p, room, texts)
  })

  it('[E2EE3] a member leaving: the next writer starts an epoch the leaver never gets', async () => {
    const [a, b, c] = [await set.add(), await set.add(), await set.add()]
    await connect(a, b)
    await connect(a, c)
    const room = await a.messenger.encrypted.createPrivateRoom({
      name: 'Trio',
      members: [b.messenger.authorId, c.messenger.authorId],
    })
    await a.messenger.post(room, 'one')
    for (const p of [b, c]) await p.messenger.join(room)
    await untilTexts(c, room, ['one'])
    await c.messenger.encrypted.removeMember(room, c.messenger.authorId)
    await untilHolds(b, c, room)
    await b.messenger.post(room, 'two')
    await untilTexts(a, room, ['one', 'two'])
    await untilHolds(c, b, room)
    expect((await c.messenger.messages(room)).map((m) => m.text)).toEqual(['one'])
  })

  it('[E2EE4] ciphertext that does not open (tampered, wrong key, unknown epoch) is not applied; later entries are', async () => {
    const [a, b] = [await set.add(), await set.add()]
    await connect(a, b)
    const room = await a.messenger.encrypted.createPrivateRoom({
      name: 'Pair',
      members: [b.messenger.authorId],
    })
    await a.messenger.post(room, 'hello')
    await b.messenger.join(room)
    await untilTexts(b, room, ['hello'])
    const plan = a.messenger.get(room)!.keys.plan(undefined)
    if (!('key' in plan)) throw new Error('a holds the current epoch')
    const me = a.messenger.identity.signer.publicKey
    const seal =
      (key: Uint8Array, epoch = plan.epoch) =>
      (plain: Uint8Array, seq: number, period: number) =>
        sealUpdate(epoch, key, { room, author: me, seq, period }, plain)
    // tampered: sealed correctly, then a ciphertext bit flipped before signing
    await writeRaw(a, b, room, 'tampered', (plain, seq, period) => {
      const sealed = seal(plan.key)(plain, seq, period)
      sealed[sealed.length - 3]! ^= 1
      return sealed
    })
    // wrong key under the current epoch's id
    await writeRaw(a, b, room, 'wrong key', seal(new Uint8Array(randomBytes(32))))
    // sealed for another entry (seq off by one): the associated data does not match
    await writeRaw(a, b, room, 'moved', (plain, seq, period) =>
      seal(plan.key)(plain, seq + 1, period),
    )
    // plaintext in an encrypted room
    await writeRaw(a, b, room, 'in the clear', (plain) => plain)
    await untilHolds(b, a, room)
    await a.messenger.post(room, 'still here')
    await untilTexts(b, room, ['hello', 'still here'])
    expect(await b.messenger.get(room)!.locked()).toEqual([])

    // an epoch nobody announced: stored, shown as waiting, not dropped
    const seq = await writeRaw(a, b, room, 'mystery', seal(plan.key, new Uint8Array(16)))
    await untilHolds(b, a, room)
    const locked = await b.messenger.get(room)!.locked()
    expect(locked.map((e) => e.seq)).toEqual([seq])
    const texts = (await b.messenger.messages(room)).map((m) => m.text)
    expect(texts).toEqual(['hello', 'still here'])
  })

  it('[E2EE5] a dm between two users is encrypted, and the node holding it cannot read it', async () => {
    const node = await set.add({ retainAll: true })
    const [a, b] = [await set.add({ retainAll: false }), await set.add({ retainAll: false })]
    await connect(a, node)
    await connect(b, node)
    const members = [a.messenger.authorId, b.messenger.authorId].sort()
    const room = dmRoomId(members[0]!, members[1]!)
    await a.messenger.createRoom(room, { kind: 'dm', members })
    await a.messenger.post(room, 'lunch at the usual place?')
    await b.messenger.join(room)
    await untilTexts(b, room, ['lunch at the usual place?'])
    await b.messenger.post(room, 'sure, noon')
    await untilTexts(a, room, ['lunch at the usual place?', 'sure, noon'])
    await untilHolds(node, a, room)
    await untilHolds(node, b, room)
    expect(await node.messenger.messages(room)).toEqual([])
    const stored = await node.store.periodEntries(room, META_PERIOD)
    expect(stored.length).toBeGreaterThan(0)
    await node.messenger.get(room)!.flush()
    expect(storeBytes(node).indexOf(Buffer.from('usual place'))).toBe(-1)
  })
})
