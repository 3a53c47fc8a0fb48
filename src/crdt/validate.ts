/**
 * The gate between untrusted bytes and a live document. {@link validateUpdate} decides, without
 * touching the document, whether a Yjs update may be applied as entry `seq` of an author's chain.
 *
 * Yjs decoders trust their input (yjs#479, #498, #687: loops, heap exhaustion, documents left half
 * changed by a failed apply), so the update is bounded in size, decoded as v1 only (the v2 decoder is
 * the one #687 kills) inside try/catch, and then held to what {@link PeriodDoc} writes: one plain JSON
 * value per struct, each a record of this author under a key of this author, continuing exactly at
 * the author's clock, deleting only the author's own entries that it overwrites. An update that
 * passes can only integrate completely: every reference it makes is already in the document.
 */
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import { InvalidUpdateError, type InvalidUpdateReason } from './errors.ts'
import { MAX_UPDATE_BYTES, MAX_SEQ, authorId, isRoomId, periodOf } from './entry.ts'
import { MAX_WALL } from './hlc.ts'
import { isClientId } from './client-id.ts'
import {
  EDITS,
  MESSAGES,
  META,
  META_PERIOD,
  isAuthorId,
  isChatMessage,
  isEditRecord,
  isIdOf,
  isMetaValue,
  messageId,
  parseMetaKey,
  type ChatMessage,
  type EditRecord,
  type MetaValue,
} from './schema.ts'

export { MAX_UPDATE_BYTES }

/** Who wrote an update, and where it goes: entry `seq` of `authorKey`'s chain in `room`, `period`. */
export interface UpdateContext {
  /** The author's raw 32-byte Ed25519 public key. */
  authorKey: Uint8Array
  /** `authorId(authorKey)`. */
  authorId: string
  /** `clientIdOf(authorKey)`: the only Yjs client the update may contain. */
  clientId: number
  seq: number
  room: string
  period: number
}

/** What a valid update writes. */
export interface ValidatedUpdate {
  clientId: number
  /** First clock: the author's clock in the document before the update. */
  clock: number
  /** Clocks the update spans (one per record written). */
  length: number
  messages: ChatMessage[]
  edits: EditRecord[]
  meta: [key: string, value: MetaValue][]
}

type Decoded = ReturnType<typeof Y.decodeUpdate>

/** One struct of the update with the map and key it writes. */
interface Write {
  root: string
  key: string
  value: unknown
}

function fail(reason: InvalidUpdateReason, detail?: string): never {
  throw new InvalidUpdateError(reason, `Invalid update (${reason})${detail ? `: ${detail}` : ''}`)
}

/** Whether `period` is a day period a valid clock can fall in, or {@link META_PERIOD}. */
export function isPeriod(period: number): boolean {
  const day = Number.isInteger(period) && period >= 0 && period <= periodOf(MAX_WALL)
  return day || period === META_PERIOD
}

function checkContext(ctx: UpdateContext): void {
  const ok =
    ctx.authorKey.length === 32 &&
    isAuthorId(ctx.authorId) &&
    authorId(ctx.authorKey) === ctx.authorId &&
    isClientId(ctx.clientId) &&
    Number.isSafeInteger(ctx.seq) &&
    ctx.seq >= 1 &&
    ctx.seq <= MAX_SEQ &&
    isRoomId(ctx.room) &&
    isPeriod(ctx.period)
  if (!ok) fail('context')
}

/** The v1 decoder `Y.decodeUpdate` uses, keeping hold of it: where it stopped reading. */
class HeldDecoderV1 extends Y.UpdateDecoderV1 {
  static last: HeldDecoderV1 | undefined
  constructor(decoder: decoding.Decoder) {
    super(decoder)
    HeldDecoderV1.last = this
  }
}

/** `Y.decodeUpdate`, refusing what it throws on and trailing bytes (which it ignores). */
function decode(update: Uint8Array): Decoded {
  let decoded: Decoded
  let end: number
  try {
    // Y.decodeUpdate is this call with the plain v1 decoder
    decoded = Y.decodeUpdateV2(update, HeldDecoderV1)
    end = HeldDecoderV1.last!.restDecoder.pos
  } catch (err) {
    return fail('malformed', String(err))
  } finally {
    HeldDecoderV1.last = undefined
  }
  // Yjs keeps only the last of several sections of one client (readClientsStructRefs), so the
  // structs validated would not be the structs applied: one section, of one client, or none.
  if (decoding.readVarUint(decoding.createDecoder(update)) > 1) fail('struct', 'several sections')
  // The delete set is the last thing read; bytes after it are not part of the update. (Decoding
  // the update once more without its last byte, as this did, costs as much as the first decode.)
  if (end !== update.length) fail('malformed', 'trailing bytes')
  return decoded
}

/** The root type's name if `type` is one of the document's roots. */
function rootName(doc: Y.Doc, type: unknown): string | undefined {
  for (const name of [MESSAGES, EDITS, META]) if (doc.share.get(name) === type) return name
  return undefined
}

/** The map and key of the author's item at `clock` in the document. */
function targetInDoc(doc: Y.Doc, client: number, clock: number, why: InvalidUpdateReason): Write {
  const structs = doc.store.clients.get(client) ?? []
  let struct: Y.Item | Y.GC | undefined
  try {
    struct = structs[Y.findIndexSS(structs, clock)]
  } catch (err) {
    return fail(why, String(err))
  }
  const root = struct instanceof Y.Item ? rootName(doc, struct.parent) : undefined
  if (!(struct instanceof Y.Item) || root === undefined || struct.parentSub === null) fail(why)
  return { root, key: struct.parentSub, value: undefined }
}

/**
 * Checks `update` for entry `ctx.seq` of `ctx.authorId` in `doc`, the document `(ctx.room,
 * ctx.period)`. Returns what it writes, or throws {@link InvalidUpdateError} (`reason` says why;
 * `gap` and `duplicate` are not misbehaviour). Never changes `doc`; takes time linear in the update
 * (plus a lookup per overwritten key).
 */
export function validateUpdate(
  doc: Y.Doc,
  ctx: UpdateContext,
  update: Uint8Array,
): ValidatedUpdate {
  if (update.length > MAX_UPDATE_BYTES) fail('size')
  checkContext(ctx)
  const { structs, ds } = decode(update)
  const start = structs[0]?.id.clock ?? fail('empty')
  const items: Y.Item[] = []
  for (const s of structs) {
    if (s.id.client !== ctx.clientId) fail('client')
    if (!(s instanceof Y.Item) || s.id.clock !== start + items.length) return fail('struct')
    if (s.rightOrigin !== null) fail('struct', 'right origin')
    if (!(s.content instanceof Y.ContentAny) || s.content.arr.length !== 1) fail('content')
    items.push(s)
  }
  for (const client of ds.clients.keys()) if (client !== ctx.clientId) fail('client', 'deletion')
  const have = Y.getState(doc.store, ctx.clientId)
  if (start + items.length <= have) fail('duplicate')
  if (start < have) fail('overlap')
  if (start > have) fail('gap', `starts at ${start}, document has ${have}`)

  const writes: Write[] = []
  for (const item of items) writes.push(resolve(doc, ctx.clientId, start, writes, item))
  const out = checkWrites(doc, ctx, writes)
  checkDeletes(doc, ctx.clientId, have, ds, writes)
  return { clientId: ctx.clientId, clock: start, length: items.length, ...out }
}

/** The map and key `item` writes: its parent's if it has one, else that of the item it follows. */
function resolve(doc: Y.Doc, client: number, start: number, prior: Write[], item: Y.Item): Write {
  const parent: unknown = item.parent
  const value: unknown = item.content.getContent()[0]
  if (typeof parent === 'string') {
    if (item.parentSub === null) fail('struct', 'array insert')
    return { root: parent, key: item.parentSub, value }
  }
  // With an origin, v1 omits parent and key: the item continues its origin's (a map overwrite).
  if (parent !== null || item.origin === null) return fail('struct', 'nested type')
  const { client: oc, clock } = item.origin
  if (oc !== client) fail('origin', 'another client')
  if (clock < start) return { ...targetInDoc(doc, client, clock, 'origin'), value }
  const earlier = prior[clock - start] ?? fail('origin', 'forward reference')
  return { root: earlier.root, key: earlier.key, value }
}

function checkWrites(
  doc: Y.Doc,
  ctx: UpdateContext,
  writes: readonly Write[],
): Pick<ValidatedUpdate, 'messages' | 'edits' | 'meta'> {
  const out: Pick<ValidatedUpdate, 'messages' | 'edits' | 'meta'> = {
    messages: [],
    edits: [],
    meta: [],
  }
  const seen = new Set<string>()
  const inPeriod = (wall: number): boolean => periodOf(wall) === ctx.period
  for (const { root, key, value: v } of writes) {
    if (seen.has(`${root}/${key}`)) fail('record', `${root} ${key} written twice`)
    seen.add(`${root}/${key}`)
    if (ctx.period === META_PERIOD ? root !== META : root !== MESSAGES && root !== EDITS) {
      fail('root', root)
    }
    if (root === MESSAGES) {
      const ok =
        isChatMessage(v) &&
        key === v.id &&
        key === messageId(ctx.authorId, ctx.seq) &&
        v.author === ctx.authorId &&
        v.room === ctx.room &&
        inPeriod(v.wall)
      if (!ok) fail('record', `message ${key}`)
      // Messages are written once: never over an existing one (not even by an origin-less item).
      if (doc.share.get(MESSAGES)?._map.has(key) === true) fail('record', `message ${key} exists`)
      out.messages.push(v)
    } else if (root === EDITS) {
      const ok = isEditRecord(v) && key === v.id && isIdOf(key, ctx.authorId) && inPeriod(v.wall)
      if (!ok) fail('record', `edit ${key}`)
      out.edits.push(v)
    } else {
      const k = parseMetaKey(key)
      const ok = k?.author === ctx.authorId && (k.field !== 'created' || ctx.seq === 1)
      if (!ok || !isMetaValue(key, v)) fail('record', `meta ${key}`)
      out.meta.push([key, v])
    }
  }
  return out
}

/**
 * Deletions: a map overwrite deletes the value it replaces, so an update may delete the author's own
 * `edits` and `meta` items under keys it writes, and nothing else (never a message).
 */
function checkDeletes(
  doc: Y.Doc,
  client: number,
  have: number,
  ds: Decoded['ds'],
  writes: readonly Write[],
): void {
  const written = new Set(writes.map((w) => `${w.root}/${w.key}`))
  const structs = doc.store.clients.get(client) ?? []
  for (const { clock, len } of ds.clients.get(client) ?? []) {
    if (len < 1 || clock + len > have) fail('delete', `${clock}+${len}`)
    let i = 0
    try {
      i = Y.findIndexSS(structs, clock)
    } catch (err) {
      fail('delete', String(err))
    }
    for (let s = structs[i]; s !== undefined && s.id.clock < clock + len; s = structs[++i]) {
      const t = targetInDoc(doc, client, s.id.clock, 'delete')
      if (t.root === MESSAGES || !written.has(`${t.root}/${t.key}`)) fail('delete', t.key)
    }
  }
}

/**
 * The clock client `clientId` reaches in a document once `update` (a stored, valid entry's) is in:
 * where its next update starts. 0 when the update holds nothing of that client or does not decode.
 */
export function clockAfter(update: Uint8Array, clientId: number): number {
  try {
    return Y.parseUpdateMeta(update).to.get(clientId) ?? 0
  } catch {
    // A stored entry whose update does not decode holds nothing the document could contain.
    return 0
  }
}
