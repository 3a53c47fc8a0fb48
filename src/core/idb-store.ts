/**
 * The browser's {@link HistoryStore}: one IndexedDB database per signed-in account, holding the
 * signed entries (the source of truth, served in catch-up and re-verified) in plain object stores.
 * The browser's period documents persist with y-indexeddb instead, one database each
 * (`src/crdt/idb-docs.ts`); `snapshots` here serve only a document IndexedDB refused to persist.
 *
 * Stores: `entries` [room, author hex, seq]; `authors` [room, author hex]; `periods` [room, period];
 * `snapshots` [room, period]; `settings` key. Index `byPeriod` on entries [room, period, author, seq].
 */
import {
  StorageError,
  hex,
  type AuthorState,
  type HistoryStore,
  type Snapshot,
  type StoredEntry,
  type StoredHead,
} from './store.ts'
import { defaultIdb, done, isQuotaError, openDb, req } from './idb.ts'

const VERSION = 1
/** Period of a room's meta document (see src/crdt/entry.ts): above every day. */
const META_PERIOD = 0xffff_ffff

interface EntryRow {
  room: string
  a: string
  seq: number
  period: number
  author: Uint8Array
  hash: Uint8Array
  bytes: Uint8Array
}
interface AuthorRow {
  room: string
  a: string
  contig: number
  head: StoredHead
}

const toEntry = (r: EntryRow): StoredEntry => ({
  author: r.author,
  seq: r.seq,
  hash: r.hash,
  period: r.period,
  bytes: r.bytes,
})
/**
 * `b` in a buffer of its own. IndexedDB's structured clone stores a view's whole underlying buffer:
 * an entry decoded out of a 1 MiB sync frame would store the whole frame.
 */
const own = (b: Uint8Array): Uint8Array =>
  b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice()
const ownHead = (h: StoredHead): StoredHead => ({
  author: own(h.author),
  seq: h.seq,
  hash: own(h.hash),
  sig: own(h.sig),
})

/** Bounds of every key that starts with `prefix` (arrays sort above numbers and strings). */
const prefixRange = (...prefix: (string | number)[]): IDBKeyRange =>
  IDBKeyRange.bound(prefix, [...prefix, []])

function upgrade(db: IDBDatabase): void {
  const entries = db.createObjectStore('entries', { keyPath: ['room', 'a', 'seq'] })
  entries.createIndex('byPeriod', ['room', 'period', 'a', 'seq'])
  db.createObjectStore('authors', { keyPath: ['room', 'a'] })
  db.createObjectStore('periods')
  db.createObjectStore('snapshots')
  db.createObjectStore('settings')
}

async function write(what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn()
  } catch (err) {
    const reason = isQuotaError(err)
      ? "the browser's storage for this site is full"
      : (err as Error).message
    throw new StorageError(`could not ${what}: ${reason}`, { cause: err })
  }
}

/** The highest seq `s` such that the author holds every entry `from + 1 … s` (a key cursor). */
function runEnd(es: IDBObjectStore, room: string, a: string, from: number): Promise<number> {
  const r = es.openKeyCursor(IDBKeyRange.bound([room, a, from + 1], [room, a, []]))
  let contig = from
  return new Promise((resolve, reject) => {
    r.onerror = () => reject(r.error ?? new Error('cursor failed'))
    r.onsuccess = () => {
      const c = r.result
      const seq = c === null ? undefined : (c.key as [string, string, number])[2]
      if (c === null || seq !== contig + 1) return resolve(contig)
      contig = seq
      c.continue()
    }
  })
}

export interface IdbStoreOptions {
  /**
   * Settings read at once, all in one transaction, as the store opens: the first `getSetting` of
   * each answers from that read (unless a `putSetting` of it came first). A page reads several
   * settings one after another before its first paint, and each read is a round trip to the
   * browser's IndexedDB backend.
   */
  prefetch?: readonly string[]
}

/** Opens (creating if needed) the IndexedDB history store `name`. */
export async function openIdbStore(
  name: string,
  factory: IDBFactory = defaultIdb(),
  opts: IdbStoreOptions = {},
): Promise<HistoryStore> {
  const db = await openDb(factory, name, VERSION, upgrade)
  const ro = (stores: string | string[]): IDBTransaction => db.transaction(stores, 'readonly')
  const early = new Map<string, Promise<Uint8Array | undefined>>()
  if (opts.prefetch !== undefined && opts.prefetch.length > 0) {
    const settings = ro('settings').objectStore('settings')
    for (const key of opts.prefetch) {
      const p = req(settings.get(key)) as Promise<Uint8Array | undefined>
      p.catch(() => undefined) // getSetting reads it again
      early.set(key, p)
    }
  }
  /**
   * Author rows as this store last committed them (`room\0a`). An append of an author with no
   * append of it in flight (`busy`) starts from this row instead of reading it in its transaction:
   * each read is a round trip to the browser's IndexedDB backend, and a live message's commit
   * then needs none. While one is in flight the next reads the row, which IndexedDB orders after
   * the earlier transaction (same scope). One tab per account (a Web Lock) makes this the only
   * writer of the database.
   */
  const known = new Map<string, AuthorRow>()
  const busy = new Map<string, number>()

  /** Issues an append's writes into `tx`; resolves with the author rows it put. */
  async function fill(
    tx: IDBTransaction,
    room: string,
    entries: readonly StoredEntry[],
    head: StoredHead | undefined,
    authors: readonly string[],
    cached: ReadonlyMap<string, AuthorRow>,
  ): Promise<Map<string, AuthorRow>> {
    const es = tx.objectStore('entries')
    const as = tx.objectStore('authors')
    const periods = new Set<number>()
    for (const e of entries) {
      periods.add(e.period)
      const row: EntryRow = {
        room,
        a: hex(e.author),
        seq: e.seq,
        period: e.period,
        author: own(e.author),
        hash: own(e.hash),
        bytes: own(e.bytes),
      }
      // An entry we already hold stays as it is (INSERT OR IGNORE).
      es.add(row).onerror = (ev) => {
        ev.preventDefault()
        ev.stopPropagation()
      }
    }
    for (const p of periods) tx.objectStore('periods').put(true, [room, p])
    const written = new Map<string, AuthorRow>()
    for (const a of authors) {
      const k = `${room}\0${a}`
      const row = cached.get(k) ?? (await req<AuthorRow | undefined>(as.get([room, a])))
      const newHead = head !== undefined && hex(head.author) === a ? head : undefined
      if (row === undefined && newHead === undefined)
        throw new Error('entries without a verified head for a new author')
      const useNew = newHead !== undefined && (row === undefined || newHead.seq > row.head.seq)
      const top = useNew ? ownHead(newHead) : row!.head
      // The prefix grows only when an entry fills the first hole: first over this append's own
      // entries, then (only if that stops below the head) over entries stored earlier above them.
      let contig = row?.contig ?? 0
      const seqs = new Set(entries.filter((e) => hex(e.author) === a).map((e) => e.seq))
      if (seqs.has(contig + 1)) {
        while (seqs.has(contig + 1)) contig += 1
        if (contig < top.seq) contig = await runEnd(es, room, a, contig)
      }
      const next: AuthorRow = { room, a, contig, head: top }
      as.put(next)
      written.set(k, next)
    }
    return written
  }

  async function append(
    room: string,
    entries: readonly StoredEntry[],
    head: StoredHead | undefined,
  ): Promise<void> {
    // Relaxed: complete once the browser holds the write (it survives a tab closing or crashing),
    // without waiting for the OS to flush it to disk.
    const tx = db.transaction(['entries', 'authors', 'periods'], 'readwrite', {
      durability: 'relaxed',
    })
    const finished = done(tx)
    finished.catch(() => undefined)
    const authors = [
      ...new Set([...entries, ...(head === undefined ? [] : [head])].map((e) => hex(e.author))),
    ]
    const keys = authors.map((a) => `${room}\0${a}`)
    const cached = new Map<string, AuthorRow>()
    for (const k of keys) {
      const row = known.get(k)
      if (row !== undefined && (busy.get(k) ?? 0) === 0) cached.set(k, row)
      busy.set(k, (busy.get(k) ?? 0) + 1)
    }
    try {
      let written: Map<string, AuthorRow>
      try {
        written = await fill(tx, room, entries, head, authors, cached)
      } catch (err) {
        tx.abort()
        throw err
      }
      // Every entry above its author's committed head (a live message, ours or a peer's) cannot be
      // held already, so no `add` can fail: commit now. Otherwise the browser commits only once
      // this thread has run every request's success event — one more round trip to the page's main
      // thread, which is busy painting right after a message is sent. (A failed `add` of an entry
      // already held must be ignored, which an explicit commit would not allow: it aborts.)
      const fresh = entries.every((e) => {
        const row = cached.get(`${room}\0${hex(e.author)}`)
        return row !== undefined && e.seq > row.head.seq
      })
      if (fresh && typeof tx.commit === 'function') tx.commit()
      await finished
      for (const [k, row] of written) known.set(k, row)
    } catch (err) {
      await finished.catch(() => undefined)
      for (const k of keys) known.delete(k)
      throw err
    } finally {
      for (const k of keys) busy.set(k, busy.get(k)! - 1)
    }
  }

  let closed = false
  const store: HistoryStore = {
    async rooms() {
      const keys = await req(ro('authors').objectStore('authors').getAllKeys())
      return [...new Set(keys.map((k) => (k as [string, string])[0]))].sort()
    },
    async authors(room): Promise<AuthorState[]> {
      const rows = (await req(
        ro('authors').objectStore('authors').getAll(prefixRange(room)),
      )) as AuthorRow[]
      return rows.map((r) => ({ author: r.head.author, contig: r.contig, head: r.head }))
    },
    append: (room, entries, head) => write('store entries', () => append(room, entries, head)),
    async entries(room, author, fromSeq, toSeq) {
      if (toSeq < fromSeq) return []
      const range = IDBKeyRange.bound([room, hex(author), fromSeq], [room, hex(author), toSeq])
      const rows = (await req(ro('entries').objectStore('entries').getAll(range))) as EntryRow[]
      return rows.map(toEntry)
    },
    async periodEntries(room, period, above) {
      const index = ro('entries').objectStore('entries').index('byPeriod')
      if (above === undefined || above.size === 0)
        return ((await req(index.getAll(prefixRange(room, period)))) as EntryRow[]).map(toEntry)
      // Only the rows above the covers are copied out of IndexedDB: first the keys (small), then
      // each author's run above its cover. Reading every row of a day and dropping the covered
      // ones cost a reload ~100 ms of structured-clone copies on a 1,000-message day (Chromium,
      // loaded 2-core machine).
      const keys = (await req(index.getAllKeys(prefixRange(room, period)))) as [
        string,
        string,
        number,
      ][]
      const from = new Map<string, number>()
      for (const [, a, seq] of keys) if (seq > (above.get(a) ?? 0) && !from.has(a)) from.set(a, seq)
      const runs = await Promise.all(
        [...from].map(
          ([a, seq]) =>
            req(
              index.getAll(IDBKeyRange.bound([room, period, a, seq], [room, period, a, []])),
            ) as Promise<EntryRow[]>,
        ),
      )
      return runs.flat().map(toEntry)
    },
    async periodEntryBytes(room, period, above) {
      return (await store.periodEntries(room, period, above)).map((e) => e.bytes)
    },
    async lowestPeriod(room, author, afterSeq) {
      // An author's entries have non-decreasing day periods along its chain (docs/architecture.md),
      // with meta entries (META_PERIOD, above every day) anywhere: the first day entry is the lowest.
      const a = hex(author)
      const range = IDBKeyRange.bound([room, a, afterSeq + 1], [room, a, []])
      const cursorReq = ro('entries').objectStore('entries').openCursor(range)
      let lowest: number | undefined
      await new Promise<void>((resolve, reject) => {
        cursorReq.onerror = () => reject(cursorReq.error ?? new Error('cursor failed'))
        cursorReq.onsuccess = () => {
          const c = cursorReq.result
          if (c === null) return resolve()
          const period = (c.value as EntryRow).period
          lowest = Math.min(lowest ?? Infinity, period)
          if (period !== META_PERIOD) return resolve()
          c.continue()
        }
      })
      return lowest
    },
    async periods(room) {
      const keys = await req(ro('periods').objectStore('periods').getAllKeys(prefixRange(room)))
      return keys.map((k) => (k as [string, number])[1]).reverse()
    },
    async snapshot(room, period): Promise<Snapshot | undefined> {
      const row = (await req(ro('snapshots').objectStore('snapshots').get([room, period]))) as
        { bytes: Uint8Array; covers: [string, number][] } | undefined
      return row === undefined ? undefined : { bytes: row.bytes, covers: new Map(row.covers) }
    },
    putSnapshot: (room, period, snap) =>
      write('store a snapshot', async () => {
        const tx = db.transaction('snapshots', 'readwrite')
        tx.objectStore('snapshots').put({ bytes: own(snap.bytes), covers: [...snap.covers] }, [
          room,
          period,
        ])
        await done(tx)
      }),
    async getSetting(key) {
      const first = early.get(key)
      early.delete(key)
      const read = (): Promise<Uint8Array | undefined> =>
        req(ro('settings').objectStore('settings').get(key)) as Promise<Uint8Array | undefined>
      return first === undefined ? read() : first.catch(read)
    },
    putSetting: (key, value) => {
      early.delete(key)
      return write('store a setting', async () => {
        const tx = db.transaction('settings', 'readwrite')
        tx.objectStore('settings').put(own(value), key)
        await done(tx)
      })
    },
    async close() {
      if (closed) return
      closed = true
      db.close()
    },
  }
  return store
}
