/**
 * Hostile input for validateUpdate and PeriodDoc.apply: the published Yjs crash shapes, byte-level
 * mutations of valid updates, and structure-aware random updates. Invariants: every input is
 * refused with InvalidUpdateError (or `gap`/`duplicate`) and leaves the document byte-identical, or
 * it is accepted and genuinely valid (integrates completely, every record passes its guard); none
 * hangs (see HANG_MS).
 */
import { HANG_MS } from '../helpers/limits.ts'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type * as encoding from 'lib0/encoding'
import * as prng from 'lib0/prng'
import { InvalidUpdateError } from '../../src/crdt/errors.ts'
import { equalBytes } from '../../src/crdt/entry.ts'
import { PeriodDoc } from '../../src/crdt/period-doc.ts'
import { validateUpdate, type UpdateContext } from '../../src/crdt/validate.ts'
import {
  editsOf,
  isChatMessage,
  isEditRecord,
  isMetaValue,
  messageId,
  messagesOf,
  metaKey,
  metaOf,
} from '../../src/crdt/schema.ts'
import {
  DAY,
  PUBLISHED,
  ROOM,
  any,
  at,
  author,
  bareDoc,
  rawUpdate,
  wallIn,
  type Author,
  type RawStruct,
} from './period-fixtures.ts'

const alice = author('alice')
const bob = author('bob')
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

/** A bare document holding `snapshot`. */
function bareWith(snapshot: Uint8Array): Y.Doc {
  const d = bareDoc()
  Y.applyUpdate(d, snapshot)
  return d
}

/**
 * Applies `update` to `target` (which holds `base`) and checks the invariants. Returns the outcome,
 * the time taken, and the target to go on with (a fresh copy of `base` after an accepted update).
 */
function check(
  target: PeriodDoc,
  base: Uint8Array,
  ctx: UpdateContext,
  update: Uint8Array,
  where: string,
): { outcome: string; ms: number; target: PeriodDoc } {
  const before = target.clockOf(ctx.clientId)
  const t0 = performance.now()
  let outcome: string
  try {
    outcome = target.apply(ctx, update)
  } catch (err) {
    if (!(err instanceof InvalidUpdateError)) throw err
    outcome = `invalid:${err.reason}`
  }
  const ms = performance.now() - t0
  if (outcome !== 'applied') {
    if (!equalBytes(target.encodeSnapshot(), base))
      expect.fail(`${where}: ${outcome} changed the document`)
    return { outcome, ms, target }
  }
  // genuinely valid: integrated completely, and every record in the document passes its guard
  const { length } = validateUpdate(bareWith(base), ctx, update)
  expect(target.clockOf(ctx.clientId), where).toBe(before + length)
  const snap = target.encodeSnapshot()
  PeriodDoc.fromSnapshot(ROOM, DAY, snap).destroy() // no pending structs, no foreign roots
  const mirror = bareWith(snap)
  for (const [k, v] of messagesOf(mirror)) expect(isChatMessage(v) && v.id === k, where).toBe(true)
  for (const [k, v] of editsOf(mirror)) expect(isEditRecord(v) && v.id === k, where).toBe(true)
  for (const [k, v] of metaOf(mirror)) expect(isMetaValue(k, v), where).toBe(true)
  target.destroy()
  return { outcome, ms, target: PeriodDoc.fromSnapshot(ROOM, DAY, base) }
}

describe('validateUpdate: hostile input', () => {
  it('[VAL18] published crash shapes (yjs#479, #498, #687), huge varints, v2 bytes: refused fast, nothing changes', () => {
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
        expect(performance.now() - t0, name).toBeLessThan(HANG_MS)
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
      expect(performance.now() - t0, name).toBeLessThan(HANG_MS)
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

  it('[VAL19] 10,000 mutated updates: refused (or genuinely valid), no hang, document unchanged', () => {
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
      const r = check(target, base, ctx, u, `seed ${SEED}, iteration ${i}`)
      target = r.target
      slowest = Math.max(slowest, r.ms)
      outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1)
    }
    console.log(
      'validate fuzz outcomes',
      Object.fromEntries(outcomes),
      `slowest ${slowest.toFixed(1)} ms`,
    )
    expect(slowest).toBeLessThan(HANG_MS)
  })

  /** A random struct from the vocabulary of valid and almost-valid writes of `me` (entry `seq`). */
  function randomStruct(
    gen: prng.PRNG,
    me: Author,
    other: Author,
    seq: number,
    have: number,
    valid = false,
  ): RawStruct {
    if (valid) {
      // a write that passes on its own: the entry's message, or an edit of one of me's messages
      const edit = prng.bool(gen)
      const k = edit ? messageId(me.id, prng.uint32(gen, 1, 9)) : messageId(me.id, seq)
      const v = edit
        ? { id: k, text: 'e', deleted: false, ...at(9) }
        : { id: k, room: ROOM, author: me.id, ...at(seq), text: 'hi' }
      return { parent: edit ? 'edits' : 'messages', parentSub: k, ref: 8, content: any(v) }
    }
    const kind = prng.uint32(gen, 0, 19)
    if (kind === 0) return { gc: prng.uint32(gen, 1, 3) }
    if (kind === 1) return { skip: prng.uint32(gen, 1, 3) }
    const key = prng.oneOf(gen, [
      messageId(me.id, seq),
      messageId(me.id, seq + 1),
      messageId(me.id, 1),
      messageId(other.id, 1),
      metaKey('name', me.id),
      metaKey('created', me.id),
      'x',
    ])
    const msg = { id: key, room: ROOM, author: me.id, ...at(seq), text: 'hi' }
    const value: encoding.AnyEncodable = prng.oneOf(gen, [
      msg,
      msg,
      { ...msg, author: other.id },
      { ...msg, room: 'elsewhere' },
      { ...msg, wall: wallIn(DAY + 1) },
      { ...msg, extra: 1 },
      { id: key, text: 'edited', deleted: false, ...at(9) },
      { id: key, text: 'edited', deleted: false, ...at(9) },
      { id: key, text: '', deleted: true, ...at(9) },
      { id: key, text: 'x', deleted: true, ...at(9) },
      { value: 'room', ...at(9) },
      { kind: 'public', version: 1, ...at(9) },
      'text',
      42,
      null,
      [],
    ])
    const origin = prng.uint32(gen, 0, 4) === 0
    const ref = prng.uint32(gen, 0, 9) === 0 ? prng.uint32(gen, 1, 9) : 8
    return {
      ...(origin && {
        origin: [prng.oneOf(gen, [me, me, other]).clientId, prng.uint32(gen, 0, have + 1)],
      }),
      ...(prng.uint32(gen, 0, 29) === 0 && { rightOrigin: [me.clientId, 0] }),
      parent: prng.oneOf(gen, ['messages', 'messages', 'edits', 'edits', 'meta', 'evil']),
      ...(prng.uint32(gen, 0, 19) !== 0 && { parentSub: key }),
      ref,
      content: ref === 8 ? any(value) : any(),
    }
  }

  it('[VAL20] 5,000 structure-aware random updates: refused (or genuinely valid), unchanged', () => {
    const SEED = 20
    const gen = prng.create(SEED)
    const { base } = fixture()
    let target = PeriodDoc.fromSnapshot(ROOM, DAY, base)
    const outcomes = new Map<string, number>()
    let slowest = 0
    for (let i = 0; i < 5_000; i++) {
      const [me, other] = prng.bool(gen) ? [alice, bob] : [bob, alice]
      const seq = prng.uint32(gen, 1, 5)
      const ctx = me.ctx(seq)
      const have = target.clockOf(me.clientId)
      const client = prng.uint32(gen, 0, 19) === 0 ? other.clientId : me.clientId
      const clock = Math.max(0, have + (prng.uint32(gen, 0, 9) === 0 ? prng.int32(gen, -1, 1) : 0))
      const valid = prng.bool(gen)
      const structs = Array.from({ length: prng.uint32(gen, 1, 3) }, () =>
        randomStruct(gen, me, other, seq, have, valid),
      )
      const ds: [number, number, number][] = []
      if (prng.uint32(gen, 0, 3) === 0) {
        const who = prng.uint32(gen, 0, 4) === 0 ? other : me
        ds.push([who.clientId, prng.uint32(gen, 0, have + 1), prng.uint32(gen, 0, 3)])
      }
      let update = rawUpdate(client, clock, structs, ds)
      if (prng.uint32(gen, 0, 9) === 0) {
        // a second section of the same client, right after the first (see VAL16)
        const more = randomStruct(gen, me, other, seq, have, valid)
        const second = rawUpdate(client, clock + structs.length, [more], ds)
        const first = rawUpdate(client, clock, structs)
        update = Uint8Array.from([2, ...first.subarray(1, -1), ...second.subarray(1)])
      }
      const r = check(target, base, ctx, update, `seed ${SEED}, #${i}`)
      target = r.target
      slowest = Math.max(slowest, r.ms)
      outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1)
    }
    console.log(
      'structured fuzz outcomes',
      Object.fromEntries(outcomes),
      `slowest ${slowest.toFixed(1)} ms`,
    )
    expect(outcomes.get('applied')).toBeGreaterThan(100) // the accepting path is exercised too
    expect(slowest).toBeLessThan(HANG_MS)
  })
})
