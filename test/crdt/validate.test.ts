import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as prng from 'lib0/prng'
import { InvalidUpdateError } from '../../src/crdt/errors.ts'
import { MAX_UPDATE_BYTES, META_PERIOD, equalBytes } from '../../src/crdt/entry.ts'
import { PeriodDoc } from '../../src/crdt/period-doc.ts'
import { validateUpdate, type UpdateContext } from '../../src/crdt/validate.ts'
import { editsOf, messageId, messagesOf, metaKey, metaOf } from '../../src/crdt/schema.ts'
import {
  DAY,
  PUBLISHED,
  ROOM,
  any,
  at,
  author,
  bareDoc,
  capture,
  rawUpdate,
  wallIn,
  type RawStruct,
} from './period-fixtures.ts'

const alice = author('alice')
const bob = author('bob')

/** The reason `fn` throws an InvalidUpdateError with, or undefined if it does not throw. */
function reason(fn: () => unknown): string | undefined {
  try {
    fn()
    return undefined
  } catch (err) {
    if (err instanceof InvalidUpdateError) return err.reason
    throw err
  }
}

/** Validates and applies, like PeriodDoc.apply but on a bare document. */
function accept(doc: Y.Doc, ctx: UpdateContext, update: Uint8Array): void {
  validateUpdate(doc, ctx, update)
  Y.applyUpdate(doc, update)
}

type Rec = { [k: string]: encoding.AnyEncodable }

const msg = (a = alice, seq = 1, over: Rec = {}): Rec => ({
  id: messageId(a.id, seq),
  room: ROOM,
  author: a.id,
  ...at(seq * 1000),
  text: `message ${seq}`,
  ...over,
})
const edit = (id: string, ms = 5000): Rec => ({
  id,
  text: 'edited',
  deleted: false,
  ...at(ms),
})
/** One map write at the root, as a raw struct. */
const put = (root: string, key: string, ...values: encoding.AnyEncodable[]): RawStruct => ({
  parent: root,
  parentSub: key,
  ref: 8,
  content: any(...values),
})

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
    const u = capture(raw, alice.clientId, (d) => messagesOf(d).set(messageId(bob.id, 1), msg()))
    expect(reason(() => validateUpdate(doc, alice.ctx(1), u))).toBe('client')
  })

  it('[VAL7] GC and Skip structs, right origins, nested types, array inserts', () => {
    const doc = bareDoc()
    const key = messageId(alice.id, 1)
    const cases: RawStruct[][] = [
      [{ gc: 1 }],
      [{ skip: 1 }],
      [put('messages', key, msg()), { skip: 2 }],
      [{ rightOrigin: [alice.clientId, 0], ref: 8, content: any(msg()) }],
      [{ parent: [alice.clientId, 0], parentSub: 'k', ref: 8, content: any(msg()) }],
      [{ parent: 'messages', ref: 8, content: any(msg()) }],
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
      [8, any(msg(), msg())], // two values
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
      [key, { ...msg(), extra: true }],
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
      put('messages', key, msg()),
      put('messages', key, msg()),
    ])
    expect(reason(() => validateUpdate(doc, alice.ctx(1), two))).toBe('record')
  })

  it('[VAL11] a message is never rewritten, not even by an origin-less item', () => {
    const w = new PeriodDoc(ROOM, DAY)
    const doc = bareDoc()
    accept(doc, alice.ctx(1), w.post(alice.ctx(1), 'a', at(1)).update)
    const again = rawUpdate(alice.clientId, 1, [put('messages', messageId(alice.id, 1), msg())])
    // same key, same seq, next clock: refused because the message exists
    expect(reason(() => validateUpdate(doc, alice.ctx(1), again))).toBe('record')
    expect(reason(() => validateUpdate(doc, alice.ctx(2), again))).toBe('record')
    const raw = bareDoc()
    Y.applyUpdate(raw, Y.encodeStateAsUpdate(doc))
    const over = capture(raw, alice.clientId, (d) =>
      messagesOf(d).set(messageId(alice.id, 1), msg()),
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
      messagesOf(d).set(messageId(alice.id, 1), msg()),
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

  it('[VAL16] deletions: only the author’s overwritten edits and meta values', () => {
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

describe('validateUpdate: hostile input', () => {
  const m1 = messageId(alice.id, 1)
  interface Candidate {
    ctx: UpdateContext
    update: Uint8Array
  }

  /** A document with a little history, and the next valid update of each kind on top of it. */
  function fixture(): { base: Uint8Array; candidates: Candidate[] } {
    const w = new PeriodDoc(ROOM, DAY)
    const past: Candidate[] = [
      { ctx: alice.ctx(1), update: w.post(alice.ctx(1), 'one', at(1)).update },
      { ctx: alice.ctx(2), update: w.post(alice.ctx(2), 'two', at(2)).update },
      { ctx: alice.ctx(3), update: w.edit(alice.ctx(3), m1, 'one!', at(3)).update },
      { ctx: bob.ctx(1), update: w.post(bob.ctx(1), 'yo', at(4)).update },
    ]
    const base = w.encodeSnapshot()
    const next = (ctx: UpdateContext, fn: (d: PeriodDoc) => Uint8Array): Candidate => {
      const d = PeriodDoc.fromSnapshot(ROOM, DAY, base)
      const update = fn(d)
      d.destroy()
      return { ctx, update }
    }
    const candidates = [
      ...past,
      next(alice.ctx(4), (d) => d.post(alice.ctx(4), 'three', at(5)).update),
      next(alice.ctx(4), (d) => d.edit(alice.ctx(4), m1, 'again', at(5)).update),
      next(alice.ctx(4), (d) => d.remove(alice.ctx(4), messageId(alice.id, 2), at(5)).update),
      next(bob.ctx(2), (d) => d.post(bob.ctx(2), 'b2', at(6)).update),
      next(bob.ctx(2), (d) => d.edit(bob.ctx(2), messageId(bob.id, 1), 'yo!', at(6)).update),
    ]
    return { base, candidates }
  }

  it('[VAL17] published crash shapes (yjs#479, #498, #687), huge varints, v2 bytes: refused fast, nothing changes', () => {
    const { base, candidates } = fixture()
    const target = PeriodDoc.fromSnapshot(ROOM, DAY, base)
    expect(target.encodeSnapshot()).toEqual(base)
    const full = new Y.Doc()
    Y.applyUpdate(full, base)
    const hostile: Record<string, Uint8Array> = {
      ...PUBLISHED,
      'v2 of a valid update': Y.convertUpdateFormatV1ToV2(candidates[4]?.update ?? base),
      'v2 state update': Y.encodeStateAsUpdateV2(full),
    }
    for (const [name, bytes] of Object.entries(hostile)) {
      for (const ctx of [alice.ctx(4), bob.ctx(2)]) {
        const t0 = performance.now()
        expect(() => target.apply(ctx, bytes), name).toThrow(
          expect.objectContaining({ name: 'InvalidUpdateError' }),
        )
        expect(performance.now() - t0, name).toBeLessThan(100)
        expect(target.encodeSnapshot(), name).toEqual(base)
      }
      const t0 = performance.now()
      try {
        const loaded = PeriodDoc.fromSnapshot(ROOM, DAY, bytes)
        expect(loaded.messages().length, name).toBeLessThanOrEqual(3)
        loaded.destroy()
      } catch (err) {
        expect(err, name).toHaveProperty('name', 'CorruptSnapshotError')
      }
      expect(performance.now() - t0, name).toBeLessThan(100)
    }
  })

  /** One random change to `u`: flips, overwrites, insertions, cuts, splices, varint bombs. */
  function mutate(gen: prng.PRNG, u: Uint8Array, other: Uint8Array): Uint8Array {
    const pos = prng.uint32(gen, 0, u.length)
    const bytes = (n: number): number[] => Array.from(prng.uint8Array(gen, n))
    const a = [...u]
    switch (prng.uint32(gen, 0, 8)) {
      case 0:
        if (pos < a.length) a[pos] = (a[pos] ?? 0) ^ (1 << prng.uint32(gen, 0, 7))
        return Uint8Array.from(a)
      case 1:
        if (pos < a.length) a[pos] = prng.uint32(gen, 0, 255)
        return Uint8Array.from(a)
      case 2:
        a.splice(pos, 0, ...bytes(prng.uint32(gen, 1, 8)))
        return Uint8Array.from(a)
      case 3:
        a.splice(pos, prng.uint32(gen, 1, 8))
        return Uint8Array.from(a)
      case 4:
        return u.slice(0, pos)
      case 5: // a varint that runs on and on
        a.splice(pos, 0, ...new Array<number>(prng.uint32(gen, 1, 12)).fill(0xff))
        return Uint8Array.from(a)
      case 6:
        return Uint8Array.from([
          ...u.slice(0, pos),
          ...other.slice(prng.uint32(gen, 0, other.length)),
        ])
      case 7:
        return prng.uint8Array(gen, prng.uint32(gen, 0, 64))
      default: {
        const from = prng.uint32(gen, 0, u.length)
        a.splice(pos, 0, ...u.slice(from, from + prng.uint32(gen, 1, 16)))
        return Uint8Array.from(a)
      }
    }
  }

  it('[VAL18] 10,000 mutated updates: refused (or genuinely valid), each < 100 ms, document unchanged', () => {
    const SEED = 18
    const gen = prng.create(SEED)
    const { base, candidates } = fixture()
    let target = PeriodDoc.fromSnapshot(ROOM, DAY, base)
    const outcomes = new Map<string, number>()
    let slowest = 0
    for (let i = 0; i < 10_000; i++) {
      const c = prng.oneOf(gen, candidates)
      let u = c.update
      for (let n = prng.uint32(gen, 1, 3); n > 0; n--) {
        u = mutate(gen, u, prng.oneOf(gen, candidates).update)
      }
      const ctx = prng.uint32(gen, 0, 9) === 0 ? prng.oneOf(gen, candidates).ctx : c.ctx
      const before = target.clockOf(ctx.clientId)
      const t0 = performance.now()
      let outcome: string
      try {
        outcome = target.apply(ctx, u)
      } catch (err) {
        if (!(err instanceof InvalidUpdateError)) throw err
        outcome = `invalid:${err.reason}`
      }
      slowest = Math.max(slowest, performance.now() - t0)
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
      if (outcome === 'applied') {
        // genuinely valid: the author's clock moved on and every record reads back well-formed
        const v = validateUpdate(bareWith(base), ctx, u)
        expect(target.clockOf(ctx.clientId)).toBe(before + v.length)
        for (const m of target.messages()) expect(m.id.startsWith(m.author.slice(0, 12))).toBe(true)
        target.destroy()
        target = PeriodDoc.fromSnapshot(ROOM, DAY, base)
      } else {
        const same = equalBytes(target.encodeSnapshot(), base)
        if (!same) expect.fail(`seed ${SEED}, iteration ${i}: ${outcome} changed the document`)
      }
    }
    console.log(
      'validate fuzz outcomes',
      Object.fromEntries(outcomes),
      `slowest ${slowest.toFixed(1)} ms`,
    )
    expect(slowest).toBeLessThan(100)
  })
})

/** A bare document holding `snapshot`. */
function bareWith(snapshot: Uint8Array): Y.Doc {
  const d = bareDoc()
  Y.applyUpdate(d, snapshot)
  return d
}
