/**
 * The browser's persistence of period documents: y-indexeddb's `IndexeddbPersistence` attached to
 * each loaded {@link PeriodDoc}. It appends every Yjs update to the document's database as it
 * happens and compacts the log by itself (one merged update once it holds `PREFERRED_TRIM_SIZE`),
 * so no change ever re-encodes a whole document.
 *
 * One database per (account, room, period), named `${prefix}/${room}/${period}`: opened when the
 * period is loaded, closed when it is dropped or the room closes, all deleted by {@link
 * DocPersistence.clear}. Beside the update log, in y-indexeddb's `custom` store, the covers record:
 * per author the highest entry seq the document contains, with the document's state vector then.
 *
 * Crash safety. The update log and the covers record are separate IndexedDB transactions, so a
 * crash can leave either one ahead of the other:
 * - updates ahead of covers (the usual case: covers are written a little later): replaying the
 *   entries above the covers finds their structs already below the document's state vector, and
 *   `validateUpdate` calls them `duplicate`: skipped, not applied twice, not rejected;
 * - covers ahead of updates: the recorded state vector is above the document's, so the covers are
 *   not believed and every entry of the period is replayed (duplicates skipped again).
 * An update of this device whose entry never reached the store is the caller's to detect
 * (`coveredState` and `clockAfter` say where the stored entries end; see core/period-load.ts).
 * A local write holds its update (`deferWrites`) until its entry is stored, so that update is
 * usually not written at all then; a crash before it is written leaves the update log behind the
 * entries, which the next load replays.
 *
 * A database that does not load (bytes that do not decode, foreign roots, missing dependencies, not
 * y-indexeddb's layout) is reported to `onError`, deleted, and the document starts empty: the caller
 * rebuilds it from the entries. The stored updates are read and applied here, not by y-indexeddb's
 * loader (it starts after them), because a throw inside that loader can be neither caught nor
 * awaited. A log of more than {@link COMPACT_AFTER} updates is merged into one when the covers are
 * next saved.
 */
import * as Y from 'yjs'
import { IndexeddbPersistence, clearDocument, storeState } from 'y-indexeddb'
import { CorruptSnapshotError } from './errors.ts'
import { MAX_SNAPSHOT_BYTES, PeriodDoc, loadedCleanly, yDocOf } from './period-doc.ts'
import type { DocPersistence, PersistedPeriod } from './doc-persistence.ts'
import { structCountsFit } from './update-shape.ts'

export type { DocPersistence, PersistedPeriod }

/** y-indexeddb's object stores (y-indexeddb.js: `updates` with auto-increment keys, `custom`). */
const UPDATES = 'updates'
const CUSTOM = 'custom'
/** Key of the covers record in the `custom` store. */
const COVERS = 'parley:covers'
/** Updates in a document's log above which they are merged into one when its covers are saved. */
export const COMPACT_AFTER = 32

export interface IdbDocsInit {
  /** Prefix of the account's database names (the account's own, so accounts never share one). */
  prefix: string
  /** Told when a persisted document did not load (it is deleted and rebuilt from entries). */
  onError?: (err: unknown) => void
}

interface Recorded {
  covers: Map<string, number>
  state: Map<number, number>
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'))
  })
}

function indexedDb(): IDBFactory {
  const f = (globalThis as { indexedDB?: IDBFactory }).indexedDB
  if (f === undefined) throw new Error('this browser has no IndexedDB (private mode?)')
  return f
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

/** The covers record written by `saveCovers`, or undefined when it is missing or unreadable. */
function parseRecorded(raw: unknown): Recorded | undefined {
  if (typeof raw !== 'string') return undefined
  let v: unknown
  try {
    v = JSON.parse(raw)
  } catch {
    return undefined
  }
  const { covers, state } = (v ?? {}) as { covers?: unknown; state?: unknown }
  if (!Array.isArray(covers) || !Array.isArray(state)) return undefined
  const out: Recorded = { covers: new Map(), state: new Map() }
  for (const c of covers as unknown[]) {
    if (!Array.isArray(c) || typeof c[0] !== 'string' || !isCount(c[1])) return undefined
    out.covers.set(c[0], c[1])
  }
  for (const s of state as unknown[]) {
    if (!Array.isArray(s) || !isCount(s[0]) || !isCount(s[1])) return undefined
    out.state.set(s[0], s[1])
  }
  return out
}

/** What {@link readStored} found: the update log and the covers record. */
interface Stored {
  updates: Uint8Array[]
  covers: unknown
}

/**
 * Opens a document's database, checked to be laid out as y-indexeddb lays it out (created empty
 * in that layout when new).
 */
async function openStored(name: string): Promise<IDBDatabase> {
  const open = indexedDb().open(name)
  open.onupgradeneeded = () => {
    open.result.createObjectStore(UPDATES, { autoIncrement: true })
    open.result.createObjectStore(CUSTOM)
  }
  const db = await request(open)
  const names = db.objectStoreNames
  if (!names.contains(UPDATES) || !names.contains(CUSTOM)) {
    db.close()
    throw new CorruptSnapshotError(`${name} is not a y-indexeddb database`)
  }
  return db
}

/**
 * Reads from `db` (see {@link openStored}; closed after) its updates (checked to be bytes within
 * {@link MAX_SNAPSHOT_BYTES}, under y-indexeddb's keys) and the covers record. The read's
 * transaction is made at the call.
 */
async function readStored(db: IDBDatabase, name: string): Promise<Stored> {
  let updates: unknown[]
  let keys: IDBValidKey[]
  let covers: unknown
  try {
    const tx = db.transaction([UPDATES, CUSTOM], 'readonly')
    ;[updates, keys, covers] = await Promise.all([
      request(tx.objectStore(UPDATES).getAll()),
      request(tx.objectStore(UPDATES).getAllKeys()),
      request(tx.objectStore(CUSTOM).get(COVERS)),
    ])
  } finally {
    db.close()
  }
  let total = 0
  for (const u of updates) {
    if (!(u instanceof Uint8Array)) throw new CorruptSnapshotError(`${name}: an update is no bytes`)
    total += u.length
    if (total > MAX_SNAPSHOT_BYTES) throw new CorruptSnapshotError(`${name} is too large`)
  }
  const last = keys.at(-1)
  if (last !== undefined && !isCount(last))
    throw new CorruptSnapshotError(`${name}: update keys are not y-indexeddb's`)
  return { updates: updates as Uint8Array[], covers }
}

/** Resolves once y-indexeddb has applied the stored updates; rejects if its loader threw. */
function synced(p: IndexeddbPersistence, ydoc: Y.Doc): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: unknown): void => {
      ydoc.off('afterTransaction', onTransaction)
      p.off('synced', onSynced)
      if (err === undefined) resolve()
      else reject(new CorruptSnapshotError(`${p.name} does not load`, { cause: err }))
    }
    const onSynced = (): void => done()
    // y-indexeddb says `synced` right after its loading transaction, in the same task: when it has
    // not by the next microtask, applying the stored updates threw.
    const onTransaction = (tr: Y.Transaction): void => {
      if (tr.origin === p) queueMicrotask(() => p.synced || done(new Error('load failed')))
    }
    ydoc.on('afterTransaction', onTransaction)
    p.on('synced', onSynced)
    p._db.catch((err: unknown) => done(err))
  })
}

/** Period documents persisted with y-indexeddb, one database each, names under `init.prefix`. */
export function createIdbDocs(init: IdbDocsInit): DocPersistence {
  const opened = new Set<PersistedPeriod>()
  const nameOf = (room: string, period: number): string => `${init.prefix}/${room}/${period}`

  async function attach(room: string, period: number): Promise<PersistedPeriod> {
    const name = nameOf(room, period)
    // Our read of the database and y-indexeddb's open of its own connection overlap: the read's
    // transaction is made before y-indexeddb's (which waits for it), each a wait for IndexedDB.
    const reading = readStored(await openStored(name), name)
    reading.catch(() => undefined) // awaited below
    const doc = new PeriodDoc(room, period)
    const ydoc = yDocOf(doc)
    const p = new IndexeddbPersistence(name, ydoc)
    // The updates are read by `reading`: y-indexeddb's own load reads none (it reads from
    // `_dbref`, set here before its database opens; it sets `_dbref` past the log's end itself),
    // and they are applied below, in one transaction of origin `p` as y-indexeddb would, but where
    // a throw is caught. Applied inside y-indexeddb's loader, a bad update threw where it could be
    // neither caught nor awaited, so every update was decoded once more beforehand to check it.
    p._dbref = Number.MAX_SAFE_INTEGER
    // While they are applied, y-indexeddb's update listener is off: Yjs encodes a transaction's
    // update for its `update` listeners, which here is the whole loaded document (~50 ms for a
    // 1,000-message day on a loaded machine), and y-indexeddb drops updates of its own origin.
    ydoc.off('update', p._storeUpdate)
    let stored: Stored
    try {
      stored = await reading
      await synced(p, ydoc)
      try {
        // a damaged struct count would have Y.applyUpdate allocate for it first (update-shape.ts)
        const bad = stored.updates.findIndex((u) => !structCountsFit(u))
        if (bad >= 0) throw new RangeError(`stored update ${bad} does not decode`)
        Y.transact(ydoc, () => stored.updates.forEach((u) => Y.applyUpdate(ydoc, u)), p, false)
      } catch (err) {
        throw new CorruptSnapshotError(`${name}: an update does not apply: ${String(err)}`, {
          cause: err,
        })
      }
      if (!loadedCleanly(ydoc))
        throw new CorruptSnapshotError(`${name}: unknown roots or missing dependencies`)
    } catch (err) {
      await p.destroy().catch(() => undefined)
      doc.destroy()
      throw err
    }
    // y-indexeddb's listener, behind holds (deferWrites): while one is open, updates wait here.
    let held: Uint8Array[] | undefined
    let holds = 0
    const onUpdate = (update: Uint8Array, origin: unknown): void => {
      if (held !== undefined && origin !== p) held.push(update)
      else p._storeUpdate(update, origin)
    }
    ydoc.on('update', onUpdate)
    let recorded = parseRecorded(stored.covers)
    if (stored.covers !== undefined && recorded === undefined)
      init.onError?.(new CorruptSnapshotError(`${name}: covers record unreadable`))
    // The covers hold only while the document still has all it had when they were recorded.
    if (recorded !== undefined && [...recorded.state].some(([c, k]) => doc.clockOf(c) < k)) {
      init.onError?.(new CorruptSnapshotError(`${name}: document behind its covers, replaying`))
      recorded = undefined
    }
    let closed = false
    const persisted: PersistedPeriod = {
      doc,
      covers: recorded?.covers ?? new Map(),
      coveredState: recorded?.state ?? new Map(),
      async saveCovers(covers) {
        if (closed) return
        // Many small updates (a live day appends one per message) load slower than one merged
        // update: merged here, after the document has been quiet for a while, long before
        // y-indexeddb's own trim at 500.
        if (p._dbsize > COMPACT_AFTER) await storeState(p, true)
        if (closed) return
        // Both taken now, together: the state vector these covers correspond to.
        const record = JSON.stringify({ covers: [...covers], state: [...doc.stateVector()] })
        await p.set(COVERS, record)
      },
      deferWrites() {
        holds += 1
        held ??= []
        let released = false
        return (write) => {
          if (released) return
          released = true
          holds -= 1
          const updates = held ?? []
          if (!write) updates.length = 0
          if (holds > 0) return
          held = undefined
          if (closed || updates.length === 0) return
          p._storeUpdate(updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates), undefined)
        }
      },
      async close() {
        if (closed) return
        closed = true
        // Updates still held were never stored as entries: the next load replays the entries.
        held = undefined
        ydoc.off('update', onUpdate)
        opened.delete(persisted)
        await p.destroy()
        doc.destroy()
      },
      async discard() {
        await persisted.close()
        await clearDocument(name)
      },
    }
    opened.add(persisted)
    return persisted
  }

  return {
    async open(room, period) {
      try {
        return await attach(room, period)
      } catch (err) {
        if (!(err instanceof CorruptSnapshotError)) throw err
        init.onError?.(err)
        await clearDocument(nameOf(room, period))
        return attach(room, period)
      }
    },
    async clear() {
      await Promise.all([...opened].map((d) => d.close()))
      const all = await indexedDb().databases()
      const mine = all.filter((d) => d.name?.startsWith(`${init.prefix}/`) === true)
      await Promise.all(mine.map((d) => clearDocument(d.name!)))
    },
  }
}
