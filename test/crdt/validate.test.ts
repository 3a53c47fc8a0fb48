import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { MAX_UPDATE_BYTES, META_PERIOD } from '../../src/crdt/entry.ts'
import { PeriodDoc } from '../../src/crdt/period-doc.ts'
import { validateUpdate, type UpdateContext } from '../../src/crdt/validate.ts'
import { messageId, messagesOf } from '../../src/crdt/schema.ts'
import {
  DAY,
  ROOM,
  accept,
  any,
  at,
  author,
  bareDoc,
  capture,
  msg,
  put,
  rawUpdate,
  reason,
  type RawStruct,
} from './period-fixtures.ts'

const alice = author('alice')
const bob = author('bob')

describe('validateUpdate: what PeriodDoc writes passes', () => {
  it('[VAL1] posts, edits, re-edits (with deletions) and removals of two authors', () => {
    const writer = new PeriodDoc(ROOM, DAY)
    const doc = bareDoc()
    const a1 = writer.post(alice.ctx(1), 'hi', at(1))
    const v = validateUpdate(doc, alice.ctx(1), a1.update)
    expect(v).toEqual({
      clientId: alice.clientId,
      clock: 0,
      length: 1,
      messages: [a1.message],
      edits: [],
      meta: [],
    })
    Y.applyUpdate(doc, a1.update)
    const b1 = writer.post(bob.ctx(1), 'hey', at(2))
    accept(doc, bob.ctx(1), b1.update)
    const e1 = writer.edit(alice.ctx(2), a1.message.id, 'hi!', at(3))
    accept(doc, alice.ctx(2), e1.update)
    const e2 = writer.edit(alice.ctx(3), a1.message.id, 'hi!!', at(4))
    expect(Y.decodeUpdate(e2.update).ds.clients.get(alice.clientId)).toHaveLength(1)
    expect(validateUpdate(doc, alice.ctx(3), e2.update).edits).toHaveLength(1)
    Y.applyUpdate(doc, e2.update)
    accept(doc, alice.ctx(4), writer.remove(alice.ctx(4), a1.message.id, at(5)).update)
    expect(Y.encodeStateAsUpdate(doc)).toEqual(writer.encodeSnapshot())
  })

  it('[VAL2] room creation and renames in the meta document', () => {
    const writer = new PeriodDoc(ROOM, META_PERIOD)
    const doc = bareDoc()
    const c = writer.setMeta(alice.ctx(1, META_PERIOD), { kind: 'public', name: 'General' }, at(1))
    expect(validateUpdate(doc, alice.ctx(1, META_PERIOD), c.update).meta).toHaveLength(2)
    Y.applyUpdate(doc, c.update)
    accept(
      doc,
      alice.ctx(2, META_PERIOD),
      writer.setMeta(alice.ctx(2, META_PERIOD), { topic: 'all' }, at(2)).update,
    )
    const rename = writer.setMeta(alice.ctx(3, META_PERIOD), { name: 'Lobby' }, at(3))
    accept(doc, alice.ctx(3, META_PERIOD), rename.update)
    accept(
      doc,
      bob.ctx(1, META_PERIOD),
      writer.setMeta(bob.ctx(1, META_PERIOD), { name: 'Bob’s' }, at(4)).update,
    )
    expect(writer.meta()?.name).toBe('Bob’s')
  })
})

describe('validateUpdate: refusals', () => {
  it('[VAL3] size and context', () => {
    const doc = bareDoc()
    const ok = new PeriodDoc(ROOM, DAY).post(alice.ctx(1), 'x', at(1)).update
    expect(
      reason(() => validateUpdate(doc, alice.ctx(1), new Uint8Array(MAX_UPDATE_BYTES + 1))),
    ).toBe('size')
    const bad: UpdateContext[] = [
      { ...alice.ctx(1), authorId: bob.id },
      { ...alice.ctx(1), authorKey: alice.key.subarray(1) },
      { ...alice.ctx(1), clientId: 2 ** 48 },
      { ...alice.ctx(1), clientId: -1 },
      alice.ctx(0),
      alice.ctx(1.5),
      alice.ctx(1, DAY, 'Bad Room'),
      alice.ctx(1, -1),
      alice.ctx(1, 1e9),
    ]
    for (const ctx of bad) expect(reason(() => validateUpdate(doc, ctx, ok))).toBe('context')
    expect(reason(() => validateUpdate(doc, alice.ctx(1), ok))).toBeUndefined()
  })

  it('[VAL4] malformed: every truncation, trailing bytes, the v2 encoding', () => {
    const w = new PeriodDoc(ROOM, DAY)
    const doc = bareDoc()
    accept(doc, alice.ctx(1), w.post(alice.ctx(1), 'x', at(1)).update)
    const u = w.edit(alice.ctx(2), messageId(alice.id, 1), 'y', at(2)).update
    const ctx = alice.ctx(2)
    expect(reason(() => validateUpdate(doc, ctx, u))).toBeUndefined()
    for (let n = 0; n < u.length; n++) {
      expect(
        reason(() => validateUpdate(doc, ctx, u.subarray(0, n))),
        `cut at ${n}`,
      ).toBeDefined()
    }
    for (const tail of [[0], [1, 2, 3], [255]]) {
      const longer = Uint8Array.from([...u, ...tail])
      expect(reason(() => validateUpdate(doc, ctx, longer))).toBe('malformed')
    }
    expect(reason(() => validateUpdate(doc, ctx, Y.convertUpdateFormatV1ToV2(u)))).toBeDefined()
  })

  it('[VAL5] empty updates and deletion-only updates', () => {
    const doc = bareDoc()
    expect(
      reason(() => validateUpdate(doc, alice.ctx(1), Y.encodeStateAsUpdate(new Y.Doc()))),
    ).toBe('empty')
    expect(
      reason(() =>
        validateUpdate(doc, alice.ctx(1), rawUpdate(0, 0, [], [[alice.clientId, 0, 1]])),
      ),
    ).toBe('empty')
  })

  it('[VAL6] structs and deletions of another client', () => {
    const doc = bareDoc()
    const bobs = new PeriodDoc(ROOM, DAY).post(bob.ctx(1), 'x', at(1)).update
    expect(reason(() => validateUpdate(doc, alice.ctx(1), bobs))).toBe('client')
    Y.applyUpdate(doc, bobs)
    const raw = bareDoc()
    Y.applyUpdate(raw, bobs)
    // alice's item overwriting bob's key deletes bob's item
    const u = capture(raw, alice.clientId, (d) =>
      messagesOf(d).set(messageId(bob.id, 1), msg(alice)),
    )
    expect(reason(() => validateUpdate(doc, alice.ctx(1), u))).toBe('client')
  })

  it('[VAL7] GC and Skip structs, right origins, nested types, array inserts', () => {
    const doc = bareDoc()
    const key = messageId(alice.id, 1)
    const cases: RawStruct[][] = [
      [{ gc: 1 }],
      [{ skip: 1 }],
      [put('messages', key, msg(alice)), { skip: 2 }],
      [{ rightOrigin: [alice.clientId, 0], ref: 8, content: any(msg(alice)) }],
      [{ parent: [alice.clientId, 0], parentSub: 'k', ref: 8, content: any(msg(alice)) }],
      [{ parent: 'messages', ref: 8, content: any(msg(alice)) }],
    ]
    for (const [i, structs] of cases.entries()) {
      expect(
        reason(() => validateUpdate(doc, alice.ctx(1), rawUpdate(alice.clientId, 0, structs))),
        `case ${i}`,
      ).toBe('struct')
    }
    // what Yjs itself makes of a skipped clock: mergeUpdates of the 1st and 3rd update
    const w = new PeriodDoc(ROOM, DAY)
    const u1 = w.post(alice.ctx(1), 'a', at(1)).update
    w.post(alice.ctx(2), 'b', at(2))
    const u3 = w.post(alice.ctx(3), 'c', at(3)).update
    expect(reason(() => validateUpdate(doc, alice.ctx(1), Y.mergeUpdates([u1, u3])))).toBe('struct')
  })

  it('[VAL8] content other than one JSON value', () => {
    const doc = bareDoc()
    const key = messageId(alice.id, 1)
    const contents: [number, (enc: encoding.Encoder) => void][] = [
      [1, (e) => encoding.writeVarUint(e, 1)], // deleted
      [2, (e) => (encoding.writeVarUint(e, 1), encoding.writeVarString(e, '"x"'))], // JSON
      [3, (e) => encoding.writeVarUint8Array(e, Uint8Array.of(1, 2))], // binary
      [4, (e) => encoding.writeVarString(e, 'hi')], // string
      [5, (e) => encoding.writeVarString(e, '{}')], // embed
      [6, (e) => (encoding.writeVarString(e, 'bold'), encoding.writeVarString(e, 'true'))], // format
      [7, (e) => encoding.writeVarUint(e, 1)], // type (Y.Map)
      [9, (e) => (encoding.writeVarString(e, 'guid'), encoding.writeAny(e, {}))], // doc
      [8, any(msg(alice), msg(alice))], // two values
      [8, any()], // none
    ]
    for (const [ref, content] of contents) {
      const u = rawUpdate(alice.clientId, 0, [{ parent: 'messages', parentSub: key, ref, content }])
      expect(
        reason(() => validateUpdate(doc, alice.ctx(1), u)),
        `ref ${ref}`,
      ).toBe('content')
    }
    // the same from real Yjs: a nested map, a text, a sub-document
    const nested = [
      (d: Y.Doc) => messagesOf(d).set(key, new Y.Map()),
      (d: Y.Doc) => d.getText('t').insert(0, 'hi'),
      (d: Y.Doc) => messagesOf(d).set(key, new Y.Doc()),
      (d: Y.Doc) => messagesOf(d).set(key, Uint8Array.of(1)),
    ]
    for (const fn of nested) {
      expect(
        reason(() => validateUpdate(doc, alice.ctx(1), capture(bareDoc(), alice.clientId, fn))),
      ).toBe('content')
    }
  })

  it('[VAL9] gap, duplicate, overlap: the document must be exactly at the update’s first clock', () => {
    const w = new PeriodDoc(ROOM, DAY)
    const u1 = w.post(alice.ctx(1), 'a', at(1)).update
    const u2 = w.post(alice.ctx(2), 'b', at(2)).update
    const doc = bareDoc()
    expect(reason(() => validateUpdate(doc, alice.ctx(2), u2))).toBe('gap')
    accept(doc, alice.ctx(1), u1)
    expect(reason(() => validateUpdate(doc, alice.ctx(1), u1))).toBe('duplicate')
    expect(reason(() => validateUpdate(doc, alice.ctx(2), Y.mergeUpdates([u1, u2])))).toBe(
      'overlap',
    )
    accept(doc, alice.ctx(2), u2)
  })
})
