/**
 * Yjs bytes into a room document: remote updates through `PeriodDoc.apply` (validated before they
 * touch the document) and stored snapshots through `PeriodDoc.fromSnapshot`.
 *
 * Invariant of `yjs-update`: an update refused (`InvalidUpdateError`, `gap`, `duplicate`) leaves
 * the document byte-identical; an update applied is genuinely valid (it moved the author's clock by
 * what it writes, the document still loads cleanly, and every record in it passes its guard).
 */
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { equalBytes } from '../../../src/crdt/entry.ts'
import { PeriodDoc } from '../../../src/crdt/period-doc.ts'
import { structCountsFit } from '../../../src/crdt/update-shape.ts'
import {
  editsOf,
  isChatMessage,
  isEditRecord,
  isMetaValue,
  messageId,
  messagesOf,
  metaKey,
  metaOf,
} from '../../../src/crdt/schema.ts'
import type { UpdateContext } from '../../../src/crdt/validate.ts'
import type { Prng } from '../../helpers/prng.ts'
import { PUBLISHED, at, rawUpdate, wallIn, type RawStruct } from '../../crdt/period-fixtures.ts'
import { InvariantError, type Surface } from '../engine.ts'
import { PERIOD, ROOM, type World } from '../fixtures.ts'

/** The published Yjs crash shapes (yjs#479, #498, #687 and PR #688), and v2 forms of valid updates. */
export function craftedUpdates(w: World): Uint8Array[] {
  const full = new Y.Doc()
  Y.applyUpdate(full, w.snapshot)
  const crafted = [
    ...Object.values(PUBLISHED),
    ...w.next.map((n) => Y.convertUpdateFormatV1ToV2(n.update)),
    Y.encodeStateAsUpdateV2(full),
  ]
  full.destroy()
  return crafted
}

/** Every record in `doc`'s snapshot passes its guard, under the key it is stored at. */
function checkRecords(snapshot: Uint8Array): void {
  const d = new Y.Doc()
  Y.applyUpdate(d, snapshot)
  for (const [k, v] of messagesOf(d))
    if (!isChatMessage(v) || v.id !== k) throw new InvariantError(`bad message ${k} applied`)
  for (const [k, v] of editsOf(d))
    if (!isEditRecord(v) || v.id !== k) throw new InvariantError(`bad edit ${k} applied`)
  for (const [k, v] of metaOf(d))
    if (!isMetaValue(k, v)) throw new InvariantError(`bad meta ${k} applied`)
  d.destroy()
}

/** A struct from the vocabulary of valid and nearly valid writes (cf. test/crdt/validate-hostile). */
function randomStruct(rand: Prng, me: string, other: string, seq: number, mine: number): RawStruct {
  if (rand.int(20) === 0) return rand.bool() ? { gc: 1 + rand.int(3) } : { skip: 1 + rand.int(3) }
  const key = rand.pick([
    messageId(me, seq),
    messageId(me, seq + 1),
    messageId(me, 1),
    messageId(other, 1),
    metaKey('name', me),
    metaKey('created', me),
    'x',
  ])
  const msg = { id: key, room: ROOM, author: me, ...at(seq * 1000), text: 'hi' }
  const value: encoding.AnyEncodable = rand.pick<encoding.AnyEncodable>([
    msg,
    { ...msg, author: other },
    { ...msg, room: 'elsewhere' },
    { ...msg, wall: wallIn(PERIOD + 1) },
    { ...msg, extra: 1 },
    { ...msg, file: { id: 'f', name: 'a', size: -1, type: '', kind: 'file' } },
    { id: key, text: 'edited', deleted: false, ...at(9000) },
    { id: key, text: 'x', deleted: true, ...at(9000) },
    { value: 'room', ...at(9000) },
    { kind: 'public', version: 1, ...at(9000) },
    'text',
    2 ** 60,
    null,
    [],
  ])
  const ref = rand.int(10) === 0 ? 1 + rand.int(9) : 8
  return {
    ...(rand.int(4) === 0 && { origin: [rand.bool(0.8) ? mine : 7, rand.int(6)] }),
    ...(rand.int(30) === 0 && { rightOrigin: [mine, 0] }),
    parent: rand.pick(['messages', 'messages', 'edits', 'meta', 'evil']),
    ...(rand.int(20) !== 0 && { parentSub: key }),
    ref,
    content: (enc) => {
      encoding.writeVarUint(enc, ref === 8 ? 1 : 0)
      if (ref === 8) encoding.writeAny(enc, value)
    },
  }
}

export function yjsUpdateSurface(w: World): Surface {
  const base = w.snapshot
  const contexts: UpdateContext[] = [w.alice.ctx(4), w.bob.ctx(2)]
  const ids = [w.alice, w.bob].map((a) => a.ctx(1).authorId)
  let target = PeriodDoc.fromSnapshot(ROOM, PERIOD, base)
  const one = (ctx: UpdateContext, update: Uint8Array): string => {
    const before = target.clockOf(ctx.clientId)
    let outcome: string
    try {
      outcome = target.apply(ctx, update)
    } catch (err) {
      if (!(err instanceof Error) || err.name !== 'InvalidUpdateError') throw err
      outcome = 'rejected'
    }
    if (outcome !== 'applied') {
      if (!equalBytes(target.encodeSnapshot(), base))
        throw new InvariantError(`the document changed after a refused update (${outcome})`)
      return outcome
    }
    const snap = target.encodeSnapshot()
    if (target.clockOf(ctx.clientId) <= before) throw new InvariantError('applied, clock unmoved')
    PeriodDoc.fromSnapshot(ROOM, PERIOD, snap).destroy() // loads cleanly: no pending structs
    checkRecords(snap)
    target.destroy()
    target = PeriodDoc.fromSnapshot(ROOM, PERIOD, base)
    return outcome
  }
  return {
    name: 'yjs-update',
    description:
      'PeriodDoc.apply (validateUpdate, then Y.applyUpdate) on a room document, as alice (seq 4) and as bob (seq 2); the document must be byte-identical after every refused update',
    allowed: [],
    seeds: [...w.next.map((n) => n.update), ...w.past.map((p) => p.update), ...craftedUpdates(w)],
    generate(rand) {
      const i = rand.int(2)
      const ctx = contexts[i]!
      const me = ids[i]!
      const mine = ctx.clientId
      const have = target.clockOf(mine)
      const clock = Math.max(0, have + (rand.int(10) === 0 ? rand.int(3) - 1 : 0))
      const structs = Array.from({ length: 1 + rand.int(3) }, () =>
        randomStruct(rand, me, ids[1 - i]!, ctx.seq, mine),
      )
      const ds: [number, number, number][] =
        rand.int(4) === 0 ? [[rand.bool(0.8) ? mine : 7, rand.int(have + 1), rand.int(3)]] : []
      return rawUpdate(rand.int(20) === 0 ? 7 : mine, clock, structs, ds)
    },
    run(input) {
      const a = one(contexts[0]!, input)
      const b = one(contexts[1]!, input)
      return a === 'applied' || b === 'applied' ? 'applied' : a === b ? a : 'rejected'
    },
    close: () => target.destroy(),
  }
}

export function snapshotSurface(w: World): Surface {
  return {
    name: 'snapshot',
    description:
      'PeriodDoc.fromSnapshot (Y.applyUpdate of a stored snapshot, SQLite period cache; the same decoder y-indexeddb feeds stored updates to): loads, or CorruptSnapshotError',
    allowed: ['CorruptSnapshotError'],
    seeds: [w.snapshot, ...w.past.map((p) => p.update), ...craftedUpdates(w)],
    run(input) {
      // the pre-check must pass whatever Yjs's own (lazy, allocation-safe) decoder accepts
      let decodes = true
      try {
        Y.decodeUpdate(input)
      } catch {
        decodes = false
      }
      if (decodes && !structCountsFit(input))
        throw new InvariantError('structCountsFit refuses an update Y.decodeUpdate accepts')
      const pd = PeriodDoc.fromSnapshot(ROOM, PERIOD, input)
      try {
        pd.messages()
        pd.meta()
        return 'loaded'
      } finally {
        pd.destroy()
      }
    },
  }
}
