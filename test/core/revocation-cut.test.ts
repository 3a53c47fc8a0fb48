/**
 * Revocation cuts on real org peers (libp2p over TCP on 127.0.0.1, SQLite): a revoked member's
 * entries are judged by their place in its chain, not by the clock it claims (src/core/revocation-cut.ts).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClock, type HybridClock } from '../../src/crdt/hlc.ts'
import { decodeEntry, encodeEntry, periodOf, signHead, type Entry } from '../../src/crdt/entry.ts'
import { PeriodDoc } from '../../src/crdt/period-doc.ts'
import { sealUpdate } from '../../src/crdt/e2ee.ts'
import type { EntryRefusal } from '../../src/core/org.ts'
import { relayAll, untilHolds } from '../helpers/org-history.ts'
import {
  OrgPeerSet,
  connectOrg,
  joinWith,
  startOffice,
  textsOf,
  type OrgPeer,
} from '../helpers/org-peers.ts'

const set = new OrgPeerSet()
afterEach(() => set.teardown())

const signal = (): AbortSignal => AbortSignal.timeout(10_000)
const WAIT = { timeout: 15_000, interval: 50 }

/** A clock that runs normally until told to stamp everything at one moment (back-dating). */
function backdatingClock(): { clock: HybridClock; backdate(wall: number): void } {
  const real = createClock()
  let wall: number | undefined
  let count = 0
  return {
    clock: {
      now: () => (wall === undefined ? real.now() : { wall, count: count++ }),
      observe: (t) => real.observe(t),
    },
    backdate(w) {
      wall = w
    },
  }
}

/** Every entry `p` refuses from now on. */
function refusals(p: OrgPeer): EntryRefusal[] {
  const out: EntryRefusal[] = []
  p.org.onRefused((r) => out.push(r))
  return out
}

describe('revocation cut', () => {
  it('[CUT1] a revoked member signs an entry back-dated before its revocation: every peer refuses it (BeyondRevocationCutError); its entries up to the cut stay', async () => {
    const { a, b, members } = await startOffice(set, ['carol'], WAIT)
    const c = members[0]!
    await c.messenger.post('general', 'before')
    await c.messenger.pushTo(a.net.peerId, 'general', signal())
    await vi.waitFor(async () => expect(await textsOf(b, 'general')).toContain('before'), WAIT)
    // rita is carol's accomplice: a member whose peer writes with carol's key (carol handed it over)
    const { code } = await b.org.createInvite()
    const back = backdatingClock()
    const r = await set.add({
      ...(await joinWith(code, 'rita')),
      entrySigner: c.signer,
      clock: back.clock,
    })
    await connectOrg(r, a)
    await r.messenger.join('general')
    await vi.waitFor(async () => {
      await r.messenger.syncNow(signal())
      expect(await textsOf(r, 'general')).toContain('before')
    }, WAIT)
    const carolSeq = r.messenger.get('general')!.author(c.signer.publicKey)!.head.seq

    const revocation = await b.org.revoke('carol')
    expect(revocation.cut).toBeDefined()
    await vi.waitFor(() => {
      for (const p of [a, r]) expect(p.org.isMember(c.signer.publicKey)).toBe(false)
      expect(a.org.view().cuts.get('carol')?.pending).toBe(false)
    }, WAIT)
    await connectOrg(r, b)
    const seen = [a, b].map(refusals)

    // stamped a second before the revocation: the clock rule alone would accept it
    back.backdate(revocation.at - 1_000)
    const posted = await r.messenger.post('general', 'backdated')
    expect(posted.seq).toBe(carolSeq + 1)
    for (const [i, p] of [a, b].entries()) {
      const acked = await r.messenger.pushTo(p.net.peerId, 'general', signal()).catch(() => -1)
      expect(acked).not.toBe(posted.seq)
      await p.messenger.syncNow(signal())
      expect(await textsOf(p, 'general')).toContain('before')
      expect(await textsOf(p, 'general')).not.toContain('backdated')
      expect(p.messenger.get('general')!.author(c.signer.publicKey)!.head.seq).toBe(carolSeq)
      await vi.waitFor(
        () =>
          expect(
            seen[i]!.some(
              (x) =>
                x.seq === posted.seq && (x.reason as Error).name === 'BeyondRevocationCutError',
            ),
          ).toBe(true),
        WAIT,
      )
    }
  })
})

/**
 * `p` posts `text` in `room` stamped `wall`, sealed under the epoch key it still holds, as its next
 * entry, straight into its store (its app refuses to write once removed); returns the entry.
 */
async function writeBackdated(
  p: OrgPeer,
  room: string,
  text: string,
  wall: number,
  sealing: { epoch: Uint8Array; key: Uint8Array },
): Promise<Entry> {
  const h = p.messenger.get(room)!
  const me = p.messenger.identity.signer.publicKey
  const head = h.author(me)!.head
  const period = periodOf(wall)
  const seq = head.seq + 1
  const doc = new PeriodDoc(room, period)
  const { update: plain } = doc.post(p.messenger.identity.ctxFor(me, seq, room, period), text, {
    wall,
    count: 0,
  })
  doc.destroy()
  const entry: Entry = {
    room,
    author: me,
    seq,
    prev: head.hash,
    hlc: { wall, count: 0 },
    period,
    update: sealUpdate(sealing.epoch, sealing.key, { room, author: me, seq, period }, plain),
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
  return entry
}

describe('revocation cut of entries already applied', () => {
  it("[CUT3] a peer that applied a revoked member's entry beyond the cut before the revocation reached it stops showing it once the cut arrives; the entries up to the cut stay", async () => {
    const { a, b, members } = await startOffice(set, ['carol'], WAIT)
    const c = members[0]!
    await c.messenger.post('general', 'before')
    await c.messenger.pushTo(a.net.peerId, 'general', signal())
    await vi.waitFor(async () => expect(await textsOf(b, 'general')).toContain('before'), WAIT)
    // xena, and a peer writing with carol's key, stay off the network until the end: what they
    // hold is handed to them directly (as a relay would), so 'late' reaches xena alone
    const { code } = await b.org.createInvite()
    const x = await set.add(await joinWith(code, 'xena'))
    const { code: code2 } = await b.org.createInvite()
    const r = await set.add({ ...(await joinWith(code2, 'rita')), entrySigner: c.signer })
    for (const p of [x, r]) {
      await p.org.add(a.org.records())
      await relayAll(a, p, 'general')
    }
    await r.messenger.post('general', 'late')
    await relayAll(r, x, 'general')
    expect(await textsOf(x, 'general')).toEqual(expect.arrayContaining(['before', 'late']))
    expect(await textsOf(b, 'general')).not.toContain('late')

    // alice revokes carol: her cut holds carol's chain up to 'before'
    await b.org.revoke('carol')
    await connectOrg(x, b)
    await vi.waitFor(async () => {
      expect(x.org.view().cuts.get('carol')?.pending).toBe(false)
      const texts = await textsOf(x, 'general')
      expect(texts).toContain('before')
      expect(texts).not.toContain('late')
    }, WAIT)
    // and it stays so when the room is read again from what xena stores
    await x.messenger.get('general')!.reload()
    expect(await textsOf(x, 'general')).not.toContain('late')
    await b.messenger.syncNow(signal())
    expect(await textsOf(b, 'general')).not.toContain('late')
  })
})

describe('removal cut of a private room', () => {
  it('[CUT2] a member removed from a private room seals an entry under its old epoch key, back-dated before its removal: every member refuses it (RemovedBeyondCutError); its entries up to the cut stay', async () => {
    const { b, members } = await startOffice(set, ['carol', 'dave'], WAIT)
    const [c, d] = [members[0]!, members[1]!]
    await connectOrg(c, b)
    await connectOrg(d, b)
    await connectOrg(c, d)
    const room = await b.messenger.encrypted.createPrivateRoom({
      name: 'Board',
      members: [c.messenger.authorId, d.messenger.authorId],
    })
    await b.messenger.post(room, 'before')
    for (const p of [c, d]) await p.messenger.join(room)
    await vi.waitFor(async () => expect(await textsOf(c, room)).toContain('before'), WAIT)
    // carol writes while a member — in the meta document, so that her Yjs clock in today's
    // document stays 0 for the hand-made entry below
    await c.messenger.createRoom(room, { topic: 'set by carol' })
    for (const p of [b, d]) await untilHolds(p, c, room, WAIT)
    const old = c.messenger.get(room)!.keys.plan(undefined)
    if (!('key' in old)) throw new Error('carol holds the current epoch')

    const removedAt = Date.now()
    await b.messenger.encrypted.removeMember(room, c.messenger.authorId)
    for (const p of [c, d]) await untilHolds(p, b, room, WAIT)
    // stamped before the removal: by the clock alone carol was still a member then
    const sneaked = await writeBackdated(c, room, 'sneaked back', removedAt - 1, old)
    for (const p of [b, d]) {
      await c.messenger.pushTo(p.net.peerId, room, signal()).catch(() => 0)
      await untilHolds(p, c, room, WAIT)
    }
    await b.messenger.post(room, 'after')
    for (const p of [b, d]) {
      await vi.waitFor(async () => expect(await textsOf(p, room)).toContain('after'), WAIT)
      const texts = await textsOf(p, room)
      expect(texts).toContain('before')
      expect((await p.messenger.roomMeta(room))?.topic).toBe('set by carol')
      expect(texts).not.toContain('sneaked back')
      const [stored] = await p.store.entries(room, sneaked.author, sneaked.seq, sneaked.seq)
      let refused: unknown
      try {
        p.messenger.get(room)!.keys.open(decodeEntry(stored!.bytes))
      } catch (err) {
        refused = err
      }
      expect((refused as Error | undefined)?.name).toBe('RemovedBeyondCutError')
    }
  })
})

describe('removal cut of entries already applied', () => {
  it("[CUT4] a member that applied a removed member's entry the remover never held stops showing it once the removal arrives", async () => {
    const { b, members } = await startOffice(set, ['carol'], WAIT)
    const c = members[0]!
    // dave, and a peer writing with carol's key, stay off the network: what they hold is handed to
    // them directly (as a relay would), so carol's 'late' reaches dave alone
    const { code } = await b.org.createInvite()
    const joined = await joinWith(code, 'dave')
    await b.org.add(joined.records)
    const d = await set.add(joined)
    const room = await b.messenger.encrypted.createPrivateRoom({
      name: 'Board',
      members: [c.messenger.authorId, d.messenger.authorId],
    })
    await b.messenger.post(room, 'before')
    const { code: code2 } = await b.org.createInvite()
    const r = await set.add({ ...(await joinWith(code2, 'rita')), entrySigner: c.signer })
    for (const p of [d, r]) {
      await p.org.add(b.org.records())
      await relayAll(b, p, room)
    }
    expect(await textsOf(d, room)).toEqual(['before'])
    await r.messenger.post(room, 'late')
    await relayAll(r, d, room)
    expect(await textsOf(d, room)).toEqual(['before', 'late'])
    // alice removes carol holding none of carol's entries: the removal's cut refuses 'late'
    await b.messenger.encrypted.removeMember(room, c.messenger.authorId)
    await relayAll(b, d, room)
    expect(await textsOf(d, room)).toEqual(['before'])
    await relayAll(d, b, room)
    expect(await textsOf(b, room)).toEqual(['before'])
  })
})
