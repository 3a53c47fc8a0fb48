/** validateUpdate: the records an update writes, the roots, origins and deletions it may touch. */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { META_PERIOD } from '../../src/crdt/entry.ts'
import { PeriodDoc } from '../../src/crdt/period-doc.ts'
import { validateUpdate } from '../../src/crdt/validate.ts'
import { editsOf, messageId, messagesOf, metaKey, metaOf } from '../../src/crdt/schema.ts'
import {
  DAY,
  ROOM,
  accept,
  any,
  at,
  author,
  bareDoc,
  capture,
  edit,
  msg,
  put,
  rawUpdate,
  reason,
  wallIn,
  type Rec,
} from './period-fixtures.ts'

const alice = author('alice')
const bob = author('bob')

describe('validateUpdate: records, roots, origins, deletions', () => {
  it('[VAL10] messages must be this entry’s, by this author, in this room and period', () => {
    const doc = bareDoc()
    const key = messageId(alice.id, 1)
    const cases: [string, Rec][] = [
      [messageId(alice.id, 2), msg(alice, 2)], // not this seq
      [key, msg(alice, 1, { id: messageId(alice.id, 2) })], // id ≠ key
      [key, msg(alice, 1, { author: bob.id })],
      [key, msg(alice, 1, { room: 'random' })],
      [key, msg(alice, 1, { wall: wallIn(DAY + 1, 5) })],
      [key, msg(alice, 1, { wall: wallIn(DAY) - 1 })],
      [key, { ...msg(alice), extra: true }],
      [key, msg(alice, 1, { text: 42 })],
    ]
    for (const [i, [k, v]] of cases.entries()) {
      const u = capture(bareDoc(), alice.clientId, (d) => messagesOf(d).set(k, v))
      expect(
        reason(() => validateUpdate(doc, alice.ctx(1), u)),
        `case ${i}`,
      ).toBe('record')
    }
    // two messages in one update
    const two = rawUpdate(alice.clientId, 0, [
      put('messages', key, msg(alice)),
      put('messages', key, msg(alice)),
    ])
    expect(reason(() => validateUpdate(doc, alice.ctx(1), two))).toBe('record')
  })

  it('[VAL11] a message is never rewritten, not even by an origin-less item', () => {
    const w = new PeriodDoc(ROOM, DAY)
    const doc = bareDoc()
    accept(doc, alice.ctx(1), w.post(alice.ctx(1), 'a', at(1)).update)
    const again = rawUpdate(alice.clientId, 1, [
      put('messages', messageId(alice.id, 1), msg(alice)),
    ])
    // same key, same seq, next clock: refused because the message exists
    expect(reason(() => validateUpdate(doc, alice.ctx(1), again))).toBe('record')
    expect(reason(() => validateUpdate(doc, alice.ctx(2), again))).toBe('record')
    const raw = bareDoc()
    Y.applyUpdate(raw, Y.encodeStateAsUpdate(doc))
    const over = capture(raw, alice.clientId, (d) =>
      messagesOf(d).set(messageId(alice.id, 1), msg(alice)),
    )
    expect(Y.decodeUpdate(over).structs[0]).toHaveProperty('origin.clock', 0)
    expect(reason(() => validateUpdate(doc, alice.ctx(2), over))).toBe('record')
  })

  it('[VAL12] edits: only of the author’s own messages, in this period', () => {
    const w = new PeriodDoc(ROOM, DAY)
    const doc = bareDoc()
    accept(doc, alice.ctx(1), w.post(alice.ctx(1), 'a', at(1)).update)
    const alices = messageId(alice.id, 1)
    const byBob = capture(bareDoc(), bob.clientId, (d) => editsOf(d).set(alices, edit(alices)))
    expect(reason(() => validateUpdate(doc, bob.ctx(1), byBob))).toBe('record')
    expect(() => w.edit(bob.ctx(1), alices, 'mine now', at(2))).toThrow(
      expect.objectContaining({ name: 'InvalidRecordError' }),
    )
    const raw = bareDoc()
    Y.applyUpdate(raw, Y.encodeStateAsUpdate(doc))
    const lateAt1 = capture(raw, alice.clientId, (d) =>
      editsOf(d).set(alices, { ...edit(alices), wall: wallIn(DAY + 1) }),
    )
    expect(reason(() => validateUpdate(doc, alice.ctx(2), lateAt1))).toBe('record')
    // an edit of an earlier period's message is fine: only the key's author prefix counts
    const older = `${alice.id.slice(0, 12)}.99`
    const raw2 = bareDoc()
    Y.applyUpdate(raw2, Y.encodeStateAsUpdate(doc))
    const ok = capture(raw2, alice.clientId, (d) => editsOf(d).set(older, edit(older)))
    expect(reason(() => validateUpdate(doc, alice.ctx(2), ok))).toBeUndefined()
  })

  it('[VAL13] roots: messages and edits in period documents, meta in the meta document', () => {
    const doc = bareDoc()
    const name = { value: 'x', ...at(1) }
    const metaInPeriod = capture(bareDoc(), alice.clientId, (d) =>
      metaOf(d).set(metaKey('name', alice.id), name),
    )
    expect(reason(() => validateUpdate(doc, alice.ctx(1), metaInPeriod))).toBe('root')
    expect(
      reason(() => validateUpdate(doc, alice.ctx(1, META_PERIOD), metaInPeriod)),
    ).toBeUndefined()
    const msgInMeta = capture(bareDoc(), alice.clientId, (d) =>
      messagesOf(d).set(messageId(alice.id, 1), msg(alice)),
    )
    expect(reason(() => validateUpdate(doc, alice.ctx(1, META_PERIOD), msgInMeta))).toBe('root')
    const other = capture(bareDoc(), alice.clientId, (d) => d.getMap('evil').set('k', 1))
    expect(reason(() => validateUpdate(doc, alice.ctx(1), other))).toBe('root')
  })

  it('[VAL14] meta: own keys only; creation only in the first entry', () => {
    const doc = bareDoc()
    const created = { kind: 'public', version: 1, ...at(1) }
    const create = capture(bareDoc(), alice.clientId, (d) =>
      metaOf(d).set(metaKey('created', alice.id), created),
    )
    expect(reason(() => validateUpdate(doc, alice.ctx(1, META_PERIOD), create))).toBeUndefined()
    expect(reason(() => validateUpdate(doc, alice.ctx(2, META_PERIOD), create))).toBe('record')
    const forBob = capture(bareDoc(), alice.clientId, (d) =>
      metaOf(d).set(metaKey('name', bob.id), { value: 'x', ...at(1) }),
    )
    expect(reason(() => validateUpdate(doc, alice.ctx(1, META_PERIOD), forBob))).toBe('record')
    const long = capture(bareDoc(), alice.clientId, (d) =>
      metaOf(d).set(metaKey('name', alice.id), { value: 'x'.repeat(81), ...at(1) }),
    )
    expect(reason(() => validateUpdate(doc, alice.ctx(1, META_PERIOD), long))).toBe('record')
  })

  it('[VAL15] origins: only the author’s own items already in the document', () => {
    const w = new PeriodDoc(ROOM, DAY)
    const doc = bareDoc()
    accept(doc, bob.ctx(1), w.post(bob.ctx(1), 'b', at(1)).update)
    accept(doc, alice.ctx(1), w.post(alice.ctx(1), 'a', at(2)).update)
    const id = messageId(alice.id, 1)
    const viaBob = rawUpdate(alice.clientId, 1, [
      { origin: [bob.clientId, 0], ref: 8, content: any(edit(id)) },
    ])
    expect(reason(() => validateUpdate(doc, alice.ctx(2), viaBob))).toBe('origin')
    const ahead = rawUpdate(alice.clientId, 1, [
      { origin: [alice.clientId, 1], ref: 8, content: any(edit(id)) },
    ])
    expect(reason(() => validateUpdate(doc, alice.ctx(2), ahead))).toBe('origin')
    // continuing the message's key through its origin is a rewrite of the message
    const viaMsg = rawUpdate(alice.clientId, 1, [
      { origin: [alice.clientId, 0], ref: 8, content: any(edit(id)) },
    ])
    expect(reason(() => validateUpdate(doc, alice.ctx(2), viaMsg))).toBe('record')
  })

  it('[VAL16] one section per update: Yjs keeps only the last section of a client', () => {
    const w = new PeriodDoc(ROOM, DAY)
    const u1 = w.post(alice.ctx(1), 'a', at(1)).update
    const target = new PeriodDoc(ROOM, DAY)
    target.apply(alice.ctx(1), u1)
    const before = target.encodeSnapshot()
    const m1 = messageId(alice.id, 1)
    const one = (clock: number, key: string): Uint8Array =>
      rawUpdate(alice.clientId, clock, [put('edits', key, edit(key))])
    // two sections of alice's: clocks 1 and 2, as sections [count, client, clock, struct] each
    const s1 = one(1, m1)
    const s2 = one(2, `${alice.id.slice(0, 12)}.77`)
    const body = (u: Uint8Array): Uint8Array => u.subarray(1, u.length - 1) // drop section count and empty delete set
    const two = Uint8Array.from([2, ...body(s1), ...body(s2), 0])
    expect(Y.decodeUpdate(two).structs).toHaveLength(2)
    expect(() => target.apply(alice.ctx(2), two)).toThrow(
      expect.objectContaining({ name: 'InvalidUpdateError' }),
    )
    expect(target.encodeSnapshot()).toEqual(before)
  })

  it('[VAL17] deletions: only the author’s overwritten edits and meta values', () => {
    const w = new PeriodDoc(ROOM, DAY)
    const doc = bareDoc()
    const m1 = messageId(alice.id, 1)
    const m2 = messageId(alice.id, 2)
    accept(doc, alice.ctx(1), w.post(alice.ctx(1), 'a', at(1)).update)
    accept(doc, alice.ctx(2), w.post(alice.ctx(2), 'b', at(2)).update)
    accept(doc, alice.ctx(3), w.edit(alice.ctx(3), m1, 'a!', at(3)).update)
    const mirror = (): Y.Doc => {
      const d = bareDoc()
      Y.applyUpdate(d, Y.encodeStateAsUpdate(doc))
      return d
    }
    const dropMsg = capture(mirror(), alice.clientId, (d) => {
      messagesOf(d).delete(m2)
      editsOf(d).set(m2, edit(m2))
    })
    expect(reason(() => validateUpdate(doc, alice.ctx(4), dropMsg))).toBe('delete')
    const dropOtherEdit = capture(mirror(), alice.clientId, (d) => {
      editsOf(d).delete(m1)
      editsOf(d).set(m2, edit(m2))
    })
    expect(reason(() => validateUpdate(doc, alice.ctx(4), dropOtherEdit))).toBe('delete')
    const future = rawUpdate(
      alice.clientId,
      3,
      [put('edits', m2, edit(m2))],
      [[alice.clientId, 0, 100]],
    )
    expect(reason(() => validateUpdate(doc, alice.ctx(4), future))).toBe('delete')
    const zero = rawUpdate(
      alice.clientId,
      3,
      [put('edits', m2, edit(m2))],
      [[alice.clientId, 2, 0]],
    )
    expect(reason(() => validateUpdate(doc, alice.ctx(4), zero))).toBe('delete')
  })
})
