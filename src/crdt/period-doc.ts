/**
 * One Yjs document `(room, period)`: the device's own writes, validated remote updates, and typed,
 * cached reads. Yjs stays inside; callers see records and bytes.
 *
 * Every write is one transaction whose v1 update is returned, to become one entry of the author's
 * chain. Precondition (not checkable here): before a local write the document holds all of the
 * author's earlier updates for this period, or the author would reuse Yjs clocks and fork.
 */
import * as Y from 'yjs'
import { CorruptSnapshotError, InvalidRecordError, InvalidUpdateError } from './errors.ts'
import { isRoomId, periodOf } from './entry.ts'
import { isHlc, type Hlc } from './hlc.ts'
import { isClientId } from './client-id.ts'
import { wellFormed } from './guards.ts'
import { isPeriod, validateUpdate, type UpdateContext } from './validate.ts'
import { structCountsFit } from './update-shape.ts'
import { compareMessages, withEdit, type DisplayMessage } from './display.ts'
import { DayReads } from './day-reads.ts'
import {
  EDITS,
  MESSAGES,
  META,
  META_PERIOD,
  editsOf,
  isAuthorId,
  isChatMessage,
  type Attachment,
  isEditRecord,
  isIdOf,
  messageId,
  messagesOf,
  metaOf,
  metaWrites,
  resolveMeta,
  type ChatMessage,
  type EditRecord,
  type MetaFields,
  type RoomMeta,
} from './schema.ts'

export type { DisplayMessage, MetaFields }
export { compareMessages, withEdit }

/** Transaction origin of this device's writes. */
export const localOrigin: unique symbol = Symbol('parley:local')
/** Transaction origin of remote updates and snapshots: observers skip it to ignore their own echoes. */
export const remoteOrigin: unique symbol = Symbol('parley:remote')
/** Largest snapshot {@link PeriodDoc.fromSnapshot} loads. */
export const MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024

/**
 * `doc.clientID` outside local writes: no author's (those are < 2^48). Yjs gives a document a new
 * client id when a remote update carries its current one (Transaction cleanup, with a console
 * warning); parking it here keeps that from firing when our own entries come back.
 */
const IDLE_CLIENT_ID = Number.MAX_SAFE_INTEGER

/** What {@link PeriodDoc.apply} did with a valid update. */
export type ApplyResult = 'applied' | 'gap' | 'duplicate'
/** Stops a subscription. */
export type Unsubscribe = () => void
/** A document changed: by this device's write (`local`) or by a remote update or snapshot. */
export interface ChangeEvent {
  local: boolean
}
/** Options of a {@link PeriodDoc}. */
export interface PeriodDocInit {
  /**
   * Receives what a change listener throws (the write or apply has happened regardless).
   * @default rethrow on a microtask
   */
  onError?: (err: unknown) => void
}

const rethrow = (err: unknown): void =>
  queueMicrotask(() => {
    throw err
  })

/** Whether a document loaded from storage has only our roots and no missing dependencies. */
export function loadedCleanly(doc: Y.Doc): boolean {
  const roots = [...doc.share.keys()].every((k) => k === MESSAGES || k === EDITS || k === META)
  return roots && doc.store.pendingStructs === null && doc.store.pendingDs === null
}

/**
 * The Yjs document inside a {@link PeriodDoc}: for src/crdt's persistence only (idb-docs.ts attaches
 * y-indexeddb to it). Nothing outside src/crdt may use it.
 */
export let yDocOf: (pd: PeriodDoc) => Y.Doc

/** One Yjs document for `(room, period)`; `period === META_PERIOD` for the room's meta document. */
export class PeriodDoc {
  static {
    yDocOf = (pd) => pd.#doc
  }
  readonly room: string
  readonly period: number
  readonly #doc = new Y.Doc()
  readonly #listeners = new Set<(e: ChangeEvent) => void>()
  readonly #onError: (err: unknown) => void
  /** Inside {@link batch}: changes are announced once at its end. */
  #batch: { changed: boolean } | undefined
  /** The day's messages and edits as last read, kept up to date (day-reads.ts). */
  readonly #reads: DayReads
  #meta: { value: RoomMeta | undefined } | undefined

  /** An empty document; throws `RangeError` unless `room` is a room id and `period` a period. */
  constructor(room: string, period: number, init: PeriodDocInit = {}) {
    if (!isRoomId(room) || !isPeriod(period)) throw new RangeError(`No document ${room}/${period}`)
    this.room = room
    this.period = period
    this.#onError = init.onError ?? rethrow
    this.#doc.clientID = IDLE_CLIENT_ID
    // Roots are maps before any update names them.
    this.#reads = new DayReads(messagesOf(this.#doc), editsOf(this.#doc))
    metaOf(this.#doc)
    this.#doc.on('afterTransaction', (tr: Y.Transaction) => {
      this.#reads.changed(tr)
      this.#meta = undefined
    })
  }

  /** Loads {@link encodeSnapshot} bytes; throws {@link CorruptSnapshotError} if they do not load. */
  static fromSnapshot(
    room: string,
    period: number,
    bytes: Uint8Array,
    init?: PeriodDocInit,
  ): PeriodDoc {
    if (bytes.length > MAX_SNAPSHOT_BYTES) throw new CorruptSnapshotError('Snapshot too large')
    // before Y.applyUpdate allocates what a damaged struct count claims (update-shape.ts)
    if (!structCountsFit(bytes)) throw new CorruptSnapshotError('Corrupt snapshot: does not decode')
    const pd = new PeriodDoc(room, period, init)
    const doc = pd.#doc
    try {
      Y.applyUpdate(doc, bytes, remoteOrigin)
    } catch (err) {
      pd.destroy()
      throw new CorruptSnapshotError(`Corrupt snapshot: ${String(err)}`, { cause: err })
    }
    if (!loadedCleanly(doc)) {
      pd.destroy()
      throw new CorruptSnapshotError('Corrupt snapshot: unknown roots or missing dependencies')
    }
    return pd
  }

  /** Posts `text` as entry `ctx.seq` of the author; `hlc` must fall in this period. */
  post(
    ctx: UpdateContext,
    text: string,
    hlc: Hlc,
    file?: Attachment,
  ): { update: Uint8Array; message: ChatMessage } {
    this.#checkClock(hlc)
    const id = messageId(ctx.authorId, ctx.seq)
    const message: ChatMessage = {
      id,
      room: this.room,
      author: ctx.authorId,
      wall: hlc.wall,
      count: hlc.count,
      text: wellFormed(text),
      ...(file === undefined ? {} : { file: { ...file, name: wellFormed(file.name) } }),
    }
    if (!isChatMessage(message)) throw new InvalidRecordError('Invalid message (text too long?)')
    if (messagesOf(this.#doc).has(id)) throw new InvalidRecordError(`Message ${id} exists`)
    const update = this.#write(ctx, false, () => messagesOf(this.#doc).set(id, { ...message }))
    return { update, message }
  }

  /** Replaces the text of the author's message `id` (which may be in an earlier period). */
  edit(ctx: UpdateContext, id: string, text: string, hlc: Hlc): { update: Uint8Array } {
    return this.#setEdit(ctx, {
      id,
      text: wellFormed(text),
      deleted: false,
      ...this.#checkClock(hlc),
    })
  }

  /** Deletes the author's message `id` (which may be in an earlier period). */
  remove(ctx: UpdateContext, id: string, hlc: Hlc): { update: Uint8Array } {
    return this.#setEdit(ctx, { id, text: '', deleted: true, ...this.#checkClock(hlc) })
  }

  /**
   * Sets room metadata in the meta document. `kind` (with `members` for private rooms and dms)
   * creates the room and is allowed only in the author's first entry of the room (`ctx.seq === 1`).
   * `hlc` orders concurrent names and topics.
   */
  setMeta(ctx: UpdateContext, fields: MetaFields, hlc: Hlc): { update: Uint8Array } {
    const writes = metaWrites(ctx.authorId, ctx.seq, fields, hlc)
    const meta = metaOf(this.#doc)
    return { update: this.#write(ctx, true, () => writes.forEach(([k, v]) => meta.set(k, v))) }
  }

  /**
   * Applies entry `ctx.seq`'s update after {@link validateUpdate}: `gap` (an earlier update of the
   * author is missing: retry after it) and `duplicate` leave the document unchanged; anything invalid
   * throws {@link InvalidUpdateError} and leaves it unchanged too.
   */
  apply(ctx: UpdateContext, update: Uint8Array): ApplyResult {
    if (ctx.room !== this.room || ctx.period !== this.period) {
      throw new InvalidUpdateError('context', `Update for ${ctx.room}/${ctx.period}`)
    }
    try {
      validateUpdate(this.#doc, ctx, update)
    } catch (err) {
      if (
        err instanceof InvalidUpdateError &&
        (err.reason === 'gap' || err.reason === 'duplicate')
      ) {
        return err.reason
      }
      throw err
    }
    Y.applyUpdate(this.#doc, update, remoteOrigin)
    if (this.#batch !== undefined) this.#batch.changed = true
    else this.#emit(false)
    return 'applied'
  }

  /**
   * Runs `fn` (remote applies) as one Yjs transaction: one update for persistence to store, one
   * change announced at the end instead of one per apply.
   */
  batch<T>(fn: () => T): T {
    if (this.#batch !== undefined) return fn()
    const batch = { changed: false }
    this.#batch = batch
    try {
      return this.#doc.transact(fn, remoteOrigin)
    } finally {
      this.#batch = undefined
      if (batch.changed) this.#emit(false)
    }
  }

  /** Messages with their latest edit in this document, by `(wall, count, author, seq)`. */
  messages(): readonly DisplayMessage[] {
    return this.#reads.read().messages
  }

  /** Edits in this document, by message id: also of messages in earlier periods (see `withEdit`). */
  edits(): ReadonlyMap<string, EditRecord> {
    return this.#reads.read().edits
  }

  /** The room's metadata (meta document only); `undefined` before its creation record. */
  meta(): RoomMeta | undefined {
    this.#meta ??= { value: resolveMeta(metaOf(this.#doc).entries()) }
    return this.#meta.value
  }

  /** Calls `cb` after each change (local write, remote update). */
  onChange(cb: (e: ChangeEvent) => void): Unsubscribe {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }

  /** Yjs client id → clock: how many records each author has written to this document. */
  stateVector(): Map<number, number> {
    const sv = new Map<number, number>()
    for (const client of this.#doc.store.clients.keys()) sv.set(client, this.clockOf(client))
    return sv
  }

  /** How many records client `clientId` has written here: its next update starts at this clock. */
  clockOf(clientId: number): number {
    return Y.getState(this.#doc.store, clientId)
  }

  /** The whole document as a v1 update: byte-identical on peers that applied the same updates. */
  encodeSnapshot(): Uint8Array {
    return Y.encodeStateAsUpdate(this.#doc)
  }

  /** Drops listeners and the Yjs document. */
  destroy(): void {
    this.#listeners.clear()
    this.#doc.destroy()
  }

  #checkClock(hlc: Hlc): Hlc {
    if (!isHlc(hlc) || periodOf(hlc.wall) !== this.period) {
      throw new InvalidRecordError(`Clock ${hlc.wall} is not in period ${this.period}`)
    }
    return { wall: hlc.wall, count: hlc.count }
  }

  #setEdit(ctx: UpdateContext, record: EditRecord): { update: Uint8Array } {
    const { id } = record
    const own = messagesOf(this.#doc).get(id)
    if (!isIdOf(id, ctx.authorId) || (isChatMessage(own) && own.author !== ctx.authorId)) {
      throw new InvalidRecordError(`Message ${id} is not by ${ctx.authorId}`)
    }
    if (!isEditRecord(record)) throw new InvalidRecordError('Invalid edit (text too long?)')
    return { update: this.#write(ctx, false, () => editsOf(this.#doc).set(id, record)) }
  }

  /** Runs `fn` as one local transaction of the author and returns its v1 update. */
  #write(ctx: UpdateContext, meta: boolean, fn: () => void): Uint8Array {
    if (ctx.room !== this.room || ctx.period !== this.period) {
      throw new InvalidRecordError(`Context is for ${ctx.room}/${ctx.period}`)
    }
    if (meta !== (this.period === META_PERIOD)) {
      throw new InvalidRecordError(
        meta ? 'Meta goes to the meta document' : 'Not the meta document',
      )
    }
    if (!isClientId(ctx.clientId) || !isAuthorId(ctx.authorId))
      throw new InvalidRecordError('Bad author')
    let update: Uint8Array | undefined
    const capture = (u: Uint8Array, origin: unknown): void => {
      if (origin === localOrigin) update = u
    }
    this.#doc.on('update', capture)
    this.#doc.clientID = ctx.clientId
    try {
      this.#doc.transact(fn, localOrigin)
    } finally {
      this.#doc.clientID = IDLE_CLIENT_ID
      this.#doc.off('update', capture)
    }
    if (update === undefined) throw new InvalidRecordError('Nothing written')
    this.#emit(true)
    return update
  }

  #emit(local: boolean): void {
    for (const cb of this.#listeners) {
      try {
        cb({ local })
      } catch (err) {
        this.#onError(err)
      }
    }
  }
}
