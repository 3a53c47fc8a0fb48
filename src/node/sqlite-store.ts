/**
 * The Node peer's history store: one SQLite database (WAL) in the data directory.
 * Entries are rows, written in one transaction per append, so a `kill -9` at any moment
 * leaves either all or none of an append; snapshots of period documents are replaced in place.
 */
import Database from 'better-sqlite3'
import { createLogger } from '../net/logger.ts'
import { equalBytes } from '../crdt/entry.ts'
import {
  StorageError,
  hex,
  type AuthorState,
  type HistoryStore,
  type Snapshot,
  type StoredEntry,
  type StoredHead,
} from '../core/store.ts'

const log = createLogger('parley:node:store')

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  room TEXT NOT NULL, author BLOB NOT NULL, seq INTEGER NOT NULL,
  period INTEGER NOT NULL, hash BLOB NOT NULL, bytes BLOB NOT NULL,
  PRIMARY KEY (room, author, seq)
);
CREATE INDEX IF NOT EXISTS entries_by_period ON entries (room, period, author, seq);
CREATE TABLE IF NOT EXISTS authors (
  room TEXT NOT NULL, author BLOB NOT NULL, contig INTEGER NOT NULL,
  head_seq INTEGER NOT NULL, head_hash BLOB NOT NULL, head_sig BLOB NOT NULL,
  PRIMARY KEY (room, author)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
  room TEXT NOT NULL, period INTEGER NOT NULL, bytes BLOB NOT NULL, covers TEXT NOT NULL,
  PRIMARY KEY (room, period)
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value BLOB NOT NULL);
`

interface EntryRow {
  author: Buffer
  seq: number
  hash: Buffer
  period: number
  bytes: Buffer
}
interface AuthorRow {
  author: Buffer
  contig: number
  head_seq: number
  head_hash: Buffer
  head_sig: Buffer
}

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
/** A Buffer over the same memory (better-sqlite3 binds Buffers as blobs; copying each is waste). */
const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength)
const toEntry = (r: EntryRow): StoredEntry => ({
  author: u8(r.author),
  seq: r.seq,
  hash: u8(r.hash),
  period: r.period,
  bytes: u8(r.bytes),
})

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    const code = (err as { code?: string }).code ?? ''
    log.error('%s failed: %s %s', what, code, (err as Error).message)
    const reason =
      code === 'SQLITE_FULL'
        ? 'the disk is full'
        : code === 'SQLITE_READONLY'
          ? 'the data directory is read-only'
          : (err as Error).message
    throw new StorageError(`could not ${what}: ${reason}`, { cause: err })
  }
}

/** Opens (creating if needed) the store at `file`. */
export function openSqliteStore(file: string): HistoryStore {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('busy_timeout = 5000')
  db.pragma('journal_size_limit = 4194304')
  db.exec(SCHEMA)

  const q = {
    rooms: db.prepare<[], { room: string }>('SELECT DISTINCT room FROM authors ORDER BY room'),
    authors: db.prepare<[string], AuthorRow>('SELECT * FROM authors WHERE room = ?'),
    author: db.prepare<[string, Buffer], AuthorRow>(
      'SELECT * FROM authors WHERE room = ? AND author = ?',
    ),
    insert: db.prepare(
      'INSERT OR IGNORE INTO entries (room, author, seq, period, hash, bytes) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    seqsAbove: db.prepare<[string, Buffer, number], { seq: number }>(
      'SELECT seq FROM entries WHERE room = ? AND author = ? AND seq > ? ORDER BY seq',
    ),
    upsertAuthor: db.prepare(
      `INSERT INTO authors (room, author, contig, head_seq, head_hash, head_sig) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (room, author) DO UPDATE SET contig = excluded.contig, head_seq = excluded.head_seq,
       head_hash = excluded.head_hash, head_sig = excluded.head_sig`,
    ),
    entries: db.prepare<[string, Buffer, number, number], EntryRow>(
      'SELECT author, seq, hash, period, bytes FROM entries WHERE room = ? AND author = ? AND seq BETWEEN ? AND ? ORDER BY seq',
    ),
    periodAbove: db.prepare<[string, number, Buffer, number], EntryRow>(
      'SELECT author, seq, hash, period, bytes FROM entries WHERE room = ? AND period = ? AND author = ? AND seq > ? ORDER BY seq',
    ),
    periodAboveBytes: db
      .prepare<[string, number, Buffer, number], Buffer>(
        'SELECT bytes FROM entries WHERE room = ? AND period = ? AND author = ? AND seq > ? ORDER BY seq',
      )
      .pluck(),
    periodAuthors: db.prepare<[string, number], { author: Buffer }>(
      'SELECT DISTINCT author FROM entries WHERE room = ? AND period = ? ORDER BY author',
    ),
    period: db.prepare<[string, number], EntryRow>(
      'SELECT author, seq, hash, period, bytes FROM entries WHERE room = ? AND period = ? ORDER BY author, seq',
    ),
    lowestPeriod: db.prepare<[string, Buffer, number], { p: number | null }>(
      'SELECT MIN(period) AS p FROM entries WHERE room = ? AND author = ? AND seq > ?',
    ),
    periods: db.prepare<[string], { period: number }>(
      'SELECT DISTINCT period FROM entries WHERE room = ? ORDER BY period DESC',
    ),
    snapshot: db.prepare<[string, number], { bytes: Buffer; covers: string }>(
      'SELECT bytes, covers FROM snapshots WHERE room = ? AND period = ?',
    ),
    putSnapshot: db.prepare(
      'INSERT OR REPLACE INTO snapshots (room, period, bytes, covers) VALUES (?, ?, ?, ?)',
    ),
    getSetting: db.prepare<[string], { value: Buffer }>('SELECT value FROM settings WHERE key = ?'),
    putSetting: db.prepare('INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)'),
  }

  const appendTx = db.transaction(
    (room: string, entries: readonly StoredEntry[], head: StoredHead | undefined) => {
      // Per author: its key and the seqs appended (an append is mostly one author's run).
      const byAuthor = new Map<string, { author: Buffer; seqs: Set<number> }>()
      let last: { key: Uint8Array; of: { author: Buffer; seqs: Set<number> } } | undefined
      for (const e of entries) {
        if (last === undefined || (last.key !== e.author && !equalBytes(last.key, e.author))) {
          const key = hex(e.author)
          let of = byAuthor.get(key)
          if (of === undefined) byAuthor.set(key, (of = { author: buf(e.author), seqs: new Set() }))
          last = { key: e.author, of }
        }
        last.of.seqs.add(e.seq)
        q.insert.run(room, last.of.author, e.seq, e.period, buf(e.hash), buf(e.bytes))
      }
      if (head !== undefined && !byAuthor.has(hex(head.author)))
        byAuthor.set(hex(head.author), { author: buf(head.author), seqs: new Set() })
      for (const [key, { author, seqs }] of byAuthor) {
        const row = q.author.get(room, author)
        const newHead = head !== undefined && hex(head.author) === key ? head : undefined
        if (row === undefined && newHead === undefined) {
          throw new Error('entries without a verified head for a new author')
        }
        let contig = row?.contig ?? 0
        // Only an append that fills seq contig+1 can extend the prefix; then walk up (lazily,
        // stopping at the first hole) through what was already stored above it.
        if (seqs.has(contig + 1)) {
          for (const { seq } of q.seqsAbove.iterate(room, author, contig)) {
            if (seq !== contig + 1) break
            contig = seq
          }
        }
        const useNew = newHead !== undefined && (row === undefined || newHead.seq > row.head_seq)
        q.upsertAuthor.run(
          room,
          author,
          contig,
          useNew ? newHead.seq : row!.head_seq,
          useNew ? buf(newHead.hash) : row!.head_hash,
          useNew ? buf(newHead.sig) : row!.head_sig,
        )
      }
    },
  )

  let closed = false
  return {
    rooms: async () => q.rooms.all().map((r) => r.room),
    authors: async (room): Promise<AuthorState[]> =>
      q.authors.all(room).map((r) => ({
        author: u8(r.author),
        contig: r.contig,
        head: { author: u8(r.author), seq: r.head_seq, hash: u8(r.head_hash), sig: u8(r.head_sig) },
      })),
    append: async (room, entries, head) =>
      wrap('store entries', () => appendTx(room, entries, head)),
    entries: async (room, author, fromSeq, toSeq) =>
      q.entries.all(room, Buffer.from(author), fromSeq, toSeq).map(toEntry),
    periodEntries: async (room, period, above) => {
      if (above === undefined) return q.period.all(room, period).map(toEntry)
      // Per author, only the rows above its seq (the index is (room, period, author, seq)), so a
      // caller that holds most of a busy day reads only what it lacks.
      const out: StoredEntry[] = []
      for (const { author } of q.periodAuthors.all(room, period)) {
        const min = above.get(hex(u8(author))) ?? 0
        for (const r of q.periodAbove.all(room, period, author, min)) out.push(toEntry(r))
      }
      return out
    },
    periodEntryBytes: async (room, period, above) => {
      const out: Uint8Array[] = []
      for (const { author } of q.periodAuthors.all(room, period)) {
        const min = above.get(hex(u8(author))) ?? 0
        for (const b of q.periodAboveBytes.all(room, period, author, min)) out.push(u8(b))
      }
      return out
    },
    lowestPeriod: async (room, author, afterSeq) =>
      q.lowestPeriod.get(room, Buffer.from(author), afterSeq)?.p ?? undefined,
    periods: async (room) => q.periods.all(room).map((r) => r.period),
    snapshot: async (room, period): Promise<Snapshot | undefined> => {
      const row = q.snapshot.get(room, period)
      if (row === undefined) return undefined
      return {
        bytes: u8(row.bytes),
        covers: new Map(Object.entries(JSON.parse(row.covers) as Record<string, number>)),
      }
    },
    putSnapshot: async (room, period, snap) =>
      wrap('store a snapshot', () => {
        q.putSnapshot.run(
          room,
          period,
          Buffer.from(snap.bytes),
          JSON.stringify(Object.fromEntries(snap.covers)),
        )
      }),
    getSetting: async (key) => {
      const row = q.getSetting.get(key)
      return row === undefined ? undefined : u8(row.value)
    },
    putSetting: async (key, value) =>
      wrap('store a setting', () => {
        q.putSetting.run(key, Buffer.from(value))
      }),
    close: async () => {
      if (closed) return
      closed = true
      db.close()
    },
  }
}
