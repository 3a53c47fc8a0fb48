import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { sha256 } from '@noble/hashes/sha2.js'
import { InvalidUpdateError } from '../../src/crdt/errors.ts'
import { META_PERIOD } from '../../src/crdt/entry.ts'
import { CLIENT_ID_LIMIT, clientIdOf } from '../../src/crdt/client-id.ts'
import { PeriodDoc, withEdit, type DisplayMessage } from '../../src/crdt/period-doc.ts'
import { editsOf, messageId } from '../../src/crdt/schema.ts'
import { DAY, ROOM, at, author, bareDoc, capture } from './period-fixtures.ts'

const alice = author('alice')
const bob = author('bob')
const carol = author('carol')
const named = (name: string) => expect.objectContaining({ name })

const docs: PeriodDoc[] = []
/** A PeriodDoc destroyed after the test. */
function track(d: PeriodDoc): PeriodDoc {
  docs.push(d)
  return d
}
const doc = (period = DAY): PeriodDoc => track(new PeriodDoc(ROOM, period))
afterEach(() => {
  for (const d of docs.splice(0)) d.destroy()
})

/** A document whose state vector is `{ id: clock }`. */
function withClock(id: number, clock: number): Y.Doc {
  const d = new Y.Doc()
  d.clientID = id
  for (let i = 0; i < clock; i++) d.getArray('a').insert(i, [i])
  return d
}

describe('client ids', () => {
  it('[PD1] are 48 bits of sha256(key), and Yjs 13 round-trips ids ≥ 2^32', () => {
    const h = sha256(alice.key)
    expect(alice.clientId).toBe(h.subarray(0, 6).reduce((n, b) => n * 256 + b, 0))
    expect(clientIdOf(alice.key, sha256)).toBe(alice.clientId)
    for (const a of [alice, bob, carol]) expect(a.clientId).toBeLessThan(CLIENT_ID_LIMIT)
    for (const id of [2 ** 32, 2 ** 32 + 1, 2 ** 47 + 12_345, CLIENT_ID_LIMIT - 1, 2 ** 53 - 1]) {
      const d = new Y.Doc({ gc: false })
      d.clientID = id
      d.getMap('m').set('k', 1)
      d.getMap('m').set('k', 2) // a deletion of the client's own item
      d.getText('t').insert(0, 'hello')
      const v1 = Y.encodeStateAsUpdate(d)
      const v2 = Y.encodeStateAsUpdateV2(d)
      const decoded = Y.decodeUpdate(v1)
      expect(decoded.structs.every((s) => s.id.client === id)).toBe(true)
      expect([...decoded.ds.clients.keys()]).toEqual([id])
      expect(Y.decodeUpdateV2(v2).structs.every((s) => s.id.client === id)).toBe(true)
      for (const [apply, bytes] of [
        [Y.applyUpdate, v1],
        [Y.applyUpdateV2, v2],
      ] as const) {
        const e = new Y.Doc({ gc: false })
        apply(e, bytes)
        expect(Y.encodeStateAsUpdate(e)).toEqual(v1)
        expect(Y.decodeStateVector(Y.encodeStateVector(e))).toEqual(new Map([[id, 7]]))
      }
      expect(Y.decodeStateVector(Y.encodeStateVectorFromUpdate(v1))).toEqual(new Map([[id, 7]]))
      const snap = Y.snapshot(d)
      for (const back of [
        Y.decodeSnapshot(Y.encodeSnapshot(snap)),
        Y.decodeSnapshotV2(Y.encodeSnapshotV2(snap)),
      ]) {
        expect(Y.equalSnapshots(back, snap)).toBe(true)
        expect(Y.createDocFromSnapshot(d, back).getText('t').toString()).toBe('hello')
      }
      // diffs against a state vector holding the id
      const partial = new Y.Doc()
      Y.applyUpdate(partial, Y.encodeStateAsUpdate(d, Y.encodeStateVector(new Y.Doc())))
      expect(
        Y.decodeUpdate(Y.encodeStateAsUpdate(d, Y.encodeStateVector(partial))).structs,
      ).toEqual([])
      const tail = Y.decodeUpdate(Y.encodeStateAsUpdate(d, Y.encodeStateVector(withClock(id, 2))))
      expect(tail.structs.map((s) => [s.id.client, s.id.clock])).toEqual([[id, 2]])
    }
  })
})

describe('PeriodDoc: local writes', () => {
  it('[PD2] post returns the message and the update of exactly that write', () => {
    const a = doc()
    const { update, message } = a.post(alice.ctx(1), 'hello', at(1, 2))
    expect(message).toEqual({
      id: messageId(alice.id, 1),
      room: ROOM,
      author: alice.id,
      wall: at(1).wall,
      count: 2,
      text: 'hello',
    })
    const b = doc()
    expect(b.apply(alice.ctx(1), update)).toBe('applied')
    expect(b.encodeSnapshot()).toEqual(a.encodeSnapshot())
    expect(b.messages()).toEqual([{ ...message, edited: false, deleted: false, editedAt: null }])
    expect(b.stateVector()).toEqual(new Map([[alice.clientId, 1]]))
    const second = a.post(alice.ctx(2), 'again', at(2)).update
    expect(Y.decodeUpdate(second).structs.map((s) => s.id.clock)).toEqual([1])
  })

  it('[PD3] refuses writes validation would refuse, and changes nothing', () => {
    const a = doc()
    a.post(alice.ctx(1), 'x', at(1))
    const before = a.encodeSnapshot()
    const refused: [string, () => unknown][] = [
      ['clock in another period', () => a.post(alice.ctx(2), 'x', at(1, 0, DAY + 1))],
      ['text too long', () => a.post(alice.ctx(2), 'x'.repeat(1024 * 1024 + 1), at(2))],
      ['seq reused', () => a.post(alice.ctx(1), 'x', at(2))],
      ['other room', () => a.post(alice.ctx(2, DAY, 'random'), 'x', at(2))],
      ['other period', () => a.post(alice.ctx(2, DAY + 1), 'x', at(2))],
      ['someone else’s message', () => a.edit(bob.ctx(1), messageId(alice.id, 1), 'y', at(2))],
      ['not a message id', () => a.remove(alice.ctx(2), 'nope', at(2))],
      ['meta in a period document', () => a.setMeta(alice.ctx(2), { name: 'x' }, at(2))],
      [
        'post in the meta document',
        () => doc(META_PERIOD).post(alice.ctx(1, META_PERIOD), 'x', at(1)),
      ],
    ]
    for (const [why, fn] of refused) expect(fn, why).toThrow(named('InvalidRecordError'))
    expect(a.encodeSnapshot()).toEqual(before)
  })

  it('[PD4] stores well-formed text: lone surrogates become U+FFFD, as every peer decodes them', () => {
    const a = doc()
    const { update, message } = a.post(alice.ctx(1), 'a\ud800b', at(1))
    expect(message.text).toBe('a\ufffdb')
    const b = doc()
    b.apply(alice.ctx(1), update)
    expect(b.messages()[0]?.text).toBe(a.messages()[0]?.text)
  })
})

describe('PeriodDoc: remote updates', () => {
  it('[PD5] a gap leaves the document untouched, then applies after the missing update', () => {
    const a = doc()
    const u1 = a.post(alice.ctx(1), 'one', at(1)).update
    const u2 = a.edit(alice.ctx(2), messageId(alice.id, 1), 'one!', at(2)).update
    const b = doc()
    const empty = b.encodeSnapshot()
    let changes = 0
    b.onChange(() => changes++)
    expect(b.apply(alice.ctx(2), u2)).toBe('gap')
    expect(b.encodeSnapshot()).toEqual(empty)
    expect(changes).toBe(0)
    expect(b.apply(alice.ctx(1), u1)).toBe('applied')
    expect(b.apply(alice.ctx(2), u2)).toBe('applied')
    expect(b.apply(alice.ctx(1), u1)).toBe('duplicate')
    expect(changes).toBe(2)
    expect(b.messages()[0]).toMatchObject({ text: 'one!', edited: true })
    expect(b.encodeSnapshot()).toEqual(a.encodeSnapshot())
  })

  it('[PD13] batch: applies in order with one change event; replays are duplicates', () => {
    const a = doc()
    const u1 = a.post(alice.ctx(1), 'one', at(1)).update
    const u2 = a.edit(alice.ctx(2), messageId(alice.id, 1), 'one!', at(2)).update
    const u3 = a.post(bob.ctx(1), 'two', at(3)).update
    const b = doc()
    let changes = 0
    b.onChange(() => changes++)
    const results = b.batch(() => [u1, u2].map((u, i) => b.apply(alice.ctx(i + 1), u)))
    expect(results).toEqual(['applied', 'applied'])
    expect(b.batch(() => b.apply(bob.ctx(1), u3))).toBe('applied')
    expect(changes).toBe(2)
    // Applying again what the document holds (a replay after a crash) changes nothing.
    const before = b.encodeSnapshot()
    expect(b.batch(() => [u1, u2].map((u, i) => b.apply(alice.ctx(i + 1), u)))).toEqual([
      'duplicate',
      'duplicate',
    ])
    expect(changes).toBe(2)
    expect(b.encodeSnapshot()).toEqual(before)
    expect(b.encodeSnapshot()).toEqual(a.encodeSnapshot())
    expect(b.messages().map((m) => m.text)).toEqual(['one!', 'two'])
  })

  it('[PD6] edits by another author are refused', () => {
    const a = doc()
    const u1 = a.post(alice.ctx(1), 'mine', at(1)).update
    const forged = doc()
    forged.apply(alice.ctx(1), u1)
    // bob's client forging an edit of alice's message: only possible by writing Yjs directly
    const b = bareDoc()
    Y.applyUpdate(b, u1)
    const id = messageId(alice.id, 1)
    const update = capture(b, bob.clientId, (d) =>
      editsOf(d).set(id, { id, text: 'bob was here', deleted: false, ...at(2) }),
    )
    const before = forged.encodeSnapshot()
    expect(() => forged.apply(bob.ctx(1), update)).toThrow(named('InvalidUpdateError'))
    expect(forged.encodeSnapshot()).toEqual(before)
    expect(forged.messages()[0]?.text).toBe('mine')
  })

  it('[PD7] our own entries coming back do not make Yjs change the client id', () => {
    const log = vi.spyOn(console, 'log')
    const warn = vi.spyOn(console, 'warn')
    const a = doc()
    const u1 = a.post(alice.ctx(1), 'one', at(1)).update
    const reloaded = doc()
    expect(reloaded.apply(alice.ctx(1), u1)).toBe('applied')
    const u2 = reloaded.post(alice.ctx(2), 'two', at(2)).update
    expect(a.apply(alice.ctx(2), u2)).toBe('applied')
    expect(a.apply(alice.ctx(1), u1)).toBe('duplicate')
    const u3 = a.post(alice.ctx(3), 'three', at(3)).update
    expect(reloaded.apply(alice.ctx(3), u3)).toBe('applied')
    expect(a.encodeSnapshot()).toEqual(reloaded.encodeSnapshot())
    expect([...a.stateVector().keys()]).toEqual([alice.clientId])
    expect(log).not.toHaveBeenCalled()
    expect(warn).not.toHaveBeenCalled()
    log.mockRestore()
    warn.mockRestore()
  })

  it('[PD8] refuses updates meant for another document', () => {
    const u = doc().post(alice.ctx(1), 'x', at(1)).update
    const err = (() => {
      try {
        doc().apply(alice.ctx(1, DAY, 'random'), u)
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(InvalidUpdateError)
    expect(err).toHaveProperty('reason', 'context')
  })
})

describe('PeriodDoc: reads', () => {
  it('[PD11] messages(): edits merged, display order, cached until a change', () => {
    const a = doc()
    const b1 = a.post(bob.ctx(1), 'bob first', at(5, 0)).message
    const a1 = a.post(alice.ctx(1), 'alice', at(5, 0)).message
    const c1 = a.post(carol.ctx(1), 'carol', at(1, 7)).message
    a.edit(alice.ctx(2), a1.id, 'alice, edited', at(6))
    a.remove(bob.ctx(2), b1.id, at(7))
    const list = a.messages()
    const byAuthor = [alice, bob].sort((x, y) => (x.id < y.id ? -1 : 1))
    expect(list.map((m) => m.author)).toEqual([carol.id, ...byAuthor.map((x) => x.id)])
    expect(list.find((m) => m.id === a1.id)).toMatchObject({
      text: 'alice, edited',
      edited: true,
      deleted: false,
    })
    expect(list.find((m) => m.id === b1.id)).toMatchObject({
      text: '',
      edited: false,
      deleted: true,
    })
    expect(list.find((m) => m.id === c1.id)).toMatchObject({ text: 'carol', editedAt: null })
    expect(a.messages()).toBe(list)
    a.post(alice.ctx(3), 'more', at(8))
    expect(a.messages()).not.toBe(list)
    expect(a.messages()).toHaveLength(4)
    expect(Object.isFrozen(a.messages())).toBe(true)
  })

  it('[PD12] an edit in a later period applies with withEdit, newest wins', () => {
    const day = doc()
    const next = doc(DAY + 1)
    const m = day.post(alice.ctx(1), 'v1', at(1)).message
    next.edit(alice.ctx(2, DAY + 1), m.id, 'v2', at(1, 0, DAY + 1))
    next.edit(alice.ctx(3, DAY + 1), m.id, 'v3', at(2, 0, DAY + 1))
    const e = next.edits().get(m.id)
    expect(e).toMatchObject({ text: 'v3' })
    const shown: DisplayMessage | undefined = day.messages()[0]
    expect(shown && withEdit(shown, e)).toMatchObject({ text: 'v3', edited: true })
    const older = { id: m.id, text: 'stale', deleted: false, ...at(0, 0, DAY + 1) }
    expect(shown && withEdit(withEdit(shown, e), older)).toMatchObject({ text: 'v3' })
  })

  it('[PD13] onChange: local and remote changes, unsubscribe, listener errors reported', () => {
    const errors: unknown[] = []
    const a = track(new PeriodDoc(ROOM, DAY, { onError: (err) => errors.push(err) }))
    const seen: boolean[] = []
    const off = a.onChange((e) => seen.push(e.local))
    a.onChange(() => {
      throw new Error('listener bug')
    })
    const { update } = a.post(alice.ctx(1), 'x', at(1))
    const b = doc()
    const off2 = b.onChange((e) => seen.push(e.local))
    b.apply(alice.ctx(1), update)
    off()
    off2()
    a.post(alice.ctx(2), 'y', at(2))
    expect(seen).toEqual([true, false])
    expect(errors).toHaveLength(2)
  })

  it('[PD14] the meta document: creation, renames, members', () => {
    const m = doc(META_PERIOD)
    expect(m.meta()).toBeUndefined()
    m.setMeta(
      alice.ctx(1, META_PERIOD),
      { kind: 'private', members: [alice.id, bob.id], name: 'ops' },
      at(1),
    )
    m.setMeta(bob.ctx(3, META_PERIOD), { topic: 'pager duty' }, at(2))
    m.setMeta(carol.ctx(1, META_PERIOD), { name: 'carol’s now' }, at(3)) // not a member: ignored
    m.setMeta(alice.ctx(2, META_PERIOD), { name: 'ops-2' }, at(4))
    m.setMeta(alice.ctx(3, META_PERIOD), { name: 'ops-3' }, at(5)) // overwrites alice's own name
    expect(m.meta()).toEqual({
      name: 'ops-3',
      topic: 'pager duty',
      kind: 'private',
      members: [alice.id, bob.id],
      createdBy: alice.id,
      createdWall: at(1).wall,
      schemaVersion: 1,
    })
    expect(() => m.setMeta(bob.ctx(4, META_PERIOD), { kind: 'public' }, at(6))).toThrow(
      named('InvalidRecordError'),
    )
  })
})

describe('PeriodDoc: snapshots', () => {
  it('[PD15] round-trip; corrupt, oversized, incomplete or foreign snapshots throw CorruptSnapshotError', () => {
    const a = doc()
    const u1 = a.post(alice.ctx(1), 'one', at(1)).update
    const u2 = a.post(alice.ctx(2), 'two', at(2)).update
    const snap = a.encodeSnapshot()
    const b = track(PeriodDoc.fromSnapshot(ROOM, DAY, snap))
    expect(b.encodeSnapshot()).toEqual(snap)
    expect(b.messages()).toEqual(a.messages())
    expect(b.apply(alice.ctx(2), u2)).toBe('duplicate')
    const foreign = new Y.Doc()
    foreign.getArray('other').insert(0, [1])
    const bad: [string, Uint8Array][] = [
      ['garbage', Uint8Array.of(1, 2, 3)],
      ['truncated', snap.subarray(0, snap.length - 3)],
      ['missing dependency', u2],
      ['unknown root', Y.encodeStateAsUpdate(foreign)],
      ['too large', new Uint8Array(64 * 1024 * 1024 + 1)],
    ]
    for (const [why, bytes] of bad) {
      expect(() => PeriodDoc.fromSnapshot(ROOM, DAY, bytes), why).toThrow(
        named('CorruptSnapshotError'),
      )
    }
    expect(track(PeriodDoc.fromSnapshot(ROOM, DAY, u1)).messages()).toHaveLength(1)
  })
})
