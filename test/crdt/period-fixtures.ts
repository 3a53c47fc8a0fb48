/** Authors, contexts and raw Yjs v1 updates for the schema, validate and period-doc tests. */
import { sha256 } from '@noble/hashes/sha2.js'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { authorId, PERIOD_MS } from '../../src/crdt/entry.ts'
import { clientIdOf } from '../../src/crdt/client-id.ts'
import { editsOf, messageId, messagesOf, metaOf } from '../../src/crdt/schema.ts'
import { InvalidUpdateError } from '../../src/crdt/errors.ts'
import { validateUpdate } from '../../src/crdt/validate.ts'
import type { Hlc } from '../../src/crdt/hlc.ts'

export const ROOM = 'general'
/** A day period: 2026-11-25. */
export const DAY = 20_417
export const wallIn = (period: number, ms = 0): number => period * PERIOD_MS + ms
export const at = (ms: number, count = 0, period = DAY): Hlc => ({
  wall: wallIn(period, ms),
  count,
})

/** What validation and local writes need to know about an entry (validate.ts `UpdateContext`). */
export interface UpdateContext {
  authorKey: Uint8Array
  authorId: string
  clientId: number
  seq: number
  room: string
  period: number
}

export interface Author {
  key: Uint8Array
  id: string
  clientId: number
  /** Context of entry `seq` in `period` (default {@link DAY}) of {@link ROOM}. */
  ctx(seq: number, period?: number, room?: string): UpdateContext
}

/** A deterministic author: its "public key" is sha256 of `name` (any 32 bytes do here). */
export function author(name: string): Author {
  const key = sha256(new TextEncoder().encode(name))
  const id = authorId(key)
  const clientId = clientIdOf(key, sha256)
  return {
    key,
    id,
    clientId,
    ctx: (seq, period = DAY, room = ROOM) => ({
      authorKey: key,
      authorId: id,
      clientId,
      seq,
      room,
      period,
    }),
  }
}

/** A bare Y.Doc with the three roots defined as maps, like PeriodDoc's. */
export function bareDoc(): Y.Doc {
  const doc = new Y.Doc()
  messagesOf(doc)
  editsOf(doc)
  metaOf(doc)
  return doc
}

/** The v1 update of one transaction `fn` on `doc` as client `clientId`. */
export function capture(doc: Y.Doc, clientId: number, fn: (doc: Y.Doc) => void): Uint8Array {
  let out: Uint8Array | undefined
  const h = (u: Uint8Array): void => {
    out = u
  }
  doc.on('update', h)
  doc.clientID = clientId
  doc.transact(() => fn(doc))
  doc.off('update', h)
  if (out === undefined) throw new Error('no update')
  return out
}

/** One struct of a hand-written v1 update (layout of yjs `Item.write`, `GC.write`, `Skip.write`). */
export type RawStruct =
  | { gc: number }
  | { skip: number }
  | {
      origin?: [number, number]
      rightOrigin?: [number, number]
      /** A root name, or the id of a parent item (a nested type). */
      parent?: string | [number, number]
      parentSub?: string
      /** Content ref (1 deleted, 2 JSON, 3 binary, 4 string, 5 embed, 6 format, 7 type, 8 any, 9 doc). */
      ref: number
      content: (enc: encoding.Encoder) => void
    }

/** ContentAny of `values`. */
export const any =
  (...values: encoding.AnyEncodable[]) =>
  (enc: encoding.Encoder): void => {
    encoding.writeVarUint(enc, values.length)
    for (const v of values) encoding.writeAny(enc, v)
  }

/** A v1 update of `structs` by `client` from `clock`, and delete set `ds` ([client, clock, len]). */
export function rawUpdate(
  client: number,
  clock: number,
  structs: RawStruct[],
  ds: [number, number, number][] = [],
): Uint8Array {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, structs.length > 0 ? 1 : 0)
  if (structs.length > 0) {
    encoding.writeVarUint(enc, structs.length)
    encoding.writeVarUint(enc, client)
    encoding.writeVarUint(enc, clock)
  }
  for (const s of structs) {
    if ('gc' in s) {
      encoding.writeUint8(enc, 0)
      encoding.writeVarUint(enc, s.gc)
    } else if ('skip' in s) {
      encoding.writeUint8(enc, 10)
      encoding.writeVarUint(enc, s.skip)
    } else {
      const info =
        s.ref |
        (s.origin ? 0x80 : 0) |
        (s.rightOrigin ? 0x40 : 0) |
        (s.parentSub !== undefined ? 0x20 : 0)
      encoding.writeUint8(enc, info)
      for (const id of [s.origin, s.rightOrigin]) {
        if (id) id.forEach((n) => encoding.writeVarUint(enc, n))
      }
      if (!s.origin && !s.rightOrigin) {
        if (typeof s.parent === 'string' || s.parent === undefined) {
          encoding.writeVarUint(enc, 1)
          encoding.writeVarString(enc, s.parent ?? 'messages')
        } else {
          encoding.writeVarUint(enc, 0)
          s.parent.forEach((n) => encoding.writeVarUint(enc, n))
        }
        if (s.parentSub !== undefined) encoding.writeVarString(enc, s.parentSub)
      }
      s.content(enc)
    }
  }
  const byClient = new Map<number, [number, number][]>()
  for (const [c, k, l] of ds) byClient.set(c, [...(byClient.get(c) ?? []), [k, l]])
  encoding.writeVarUint(enc, byClient.size)
  for (const [c, list] of byClient) {
    encoding.writeVarUint(enc, c)
    encoding.writeVarUint(enc, list.length)
    for (const [k, l] of list) {
      encoding.writeVarUint(enc, k)
      encoding.writeVarUint(enc, l)
    }
  }
  return encoding.toUint8Array(enc)
}

/** The reason `fn` throws an InvalidUpdateError with, or undefined if it does not throw. */
export function reason(fn: () => unknown): string | undefined {
  try {
    fn()
    return undefined
  } catch (err) {
    if (err instanceof InvalidUpdateError) return err.reason
    throw err
  }
}

/** Validates and applies, like PeriodDoc.apply but on a bare document. */
export function accept(doc: Y.Doc, ctx: UpdateContext, update: Uint8Array): void {
  validateUpdate(doc, ctx, update)
  Y.applyUpdate(doc, update)
}

export type Rec = { [k: string]: encoding.AnyEncodable }

/** `a`'s message of entry `seq`, with `over` changed. */
export const msg = (a: Author, seq = 1, over: Rec = {}): Rec => ({
  id: messageId(a.id, seq),
  room: ROOM,
  author: a.id,
  ...at(seq * 1000),
  text: `message ${seq}`,
  ...over,
})

/** An edit of message `id`. */
export const edit = (id: string, ms = 5000): Rec => ({
  id,
  text: 'edited',
  deleted: false,
  ...at(ms),
})

/** One map write at the root, as a raw struct. */
export const put = (root: string, key: string, ...values: encoding.AnyEncodable[]): RawStruct => ({
  parent: root,
  parentSub: key,
  ref: 8,
  content: any(...values),
})

/** Published inputs that hang, exhaust or crash Yjs decoders (yjs#479, #498, #687 and its PR #688). */
export const PUBLISHED: Record<string, Uint8Array> = {
  // #498: a zero-length update looped forever in readVarUint
  'yjs#498 empty': new Uint8Array(0),
  // #479: base64 "garbagedoc" looped forever in lib0
  'yjs#479 garbage': Uint8Array.from(atob('garbagedoc'), (c) => c.charCodeAt(0)),
  // #687: a v2 update claiming 4,398,046,511,101 structs (mergeUpdatesV2 runs forever)
  'yjs#687 structs': Uint8Array.from([
    0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 2, 0, 0, 22, 2, 0, 0, 1, 253, 255, 255, 255, 255, 127, 0, 0,
  ]),
  // #687: a v1 update claiming 265,828 updates
  'yjs#687 updates v1': Uint8Array.from([
    228, 156, 16, 0, 5, 255, 255, 5, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 237, 0, 0, 0, 1, 1, 0, 254, 184,
    194, 233, 173, 135, 217, 18, 0, 0, 1, 1, 255, 237, 246,
  ]),
  // #687: a v2 update claiming 7,658,324,286 updates
  'yjs#687 updates v2': Uint8Array.from([
    228, 149, 0, 0, 1, 24, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 237, 1, 190, 130, 227, 195, 28, 1, 2, 228,
    149, 0, 0, 1, 24, 0, 0, 1, 24, 0, 0, 1, 0, 1, 237, 0,
  ]),
  // #687: a v2 GC struct of length 553,253
  'yjs#687 gc length': Uint8Array.from([
    143, 1, 128, 0, 0, 0, 1, 170, 1, 0, 1, 2, 0, 0, 22, 2, 0, 229, 196, 67, 20, 231, 166, 139, 147,
    174, 181, 253, 93, 232, 38, 154, 138, 89, 0, 49, 213, 15, 18, 1, 48, 0, 0, 0,
  ]),
  // #687: a v2 update of 267,854,847 structs that applyUpdateV2 turns into an out-of-memory crash
  'yjs#687 applyUpdateV2 oom': Uint8Array.from([
    0, 1, 35, 0, 0, 0, 1, 2, 129, 0, 0, 16, 0, 199, 220, 0, 196, 122, 128, 0, 65, 171, 234, 214, 0,
    1, 0, 0, 1, 0, 0, 132, 0, 0, 16, 255, 199, 220, 255, 0, 0, 0,
  ]),
  // huge varint lengths: 2^53 - 1 clients, then a string "length" of 2^49
  'varint 2^53 clients': Uint8Array.from([255, 255, 255, 255, 255, 255, 255, 15, 0]),
  'varint 2^49 string': Uint8Array.from([
    1, 1, 5, 0, 0x28, 1, 128, 128, 128, 128, 128, 128, 128, 1, 0,
  ]),
  'varint past 2^53': Uint8Array.from([1, 255, 255, 255, 255, 255, 255, 255, 255, 255, 1]),
}
