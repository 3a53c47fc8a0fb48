/**
 * The Node peer's chunk store: each file's bytes in `<data>/files/<id>` (written at chunk offsets,
 * so a file is never buffered whole), its manifest and a bitmap of the chunks held in SQLite
 * (`<data>/files/files.db`, WAL, synchronous FULL).
 *
 * Crash safety: a written chunk joins the bitmap only after `fdatasync` of the data file, in a
 * later SQLite transaction (every 64 chunks or 200 ms, and at `flush`). A `kill -9` loses at most
 * the chunks written since, which are fetched again; the bitmap never names a chunk that is not on
 * the disk. ENOSPC becomes `FileStoreFullError`, with nothing marked that was not stored.
 */
import Database from 'better-sqlite3'
import { mkdirSync, readdirSync, rmSync, existsSync } from 'node:fs'
import { open, rename, rm, type FileHandle } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { createLogger } from '../net/logger.ts'
import { FileNotHeldError, FileStoreFullError } from '../core/files/errors.ts'
import { chunkCount, decodeManifest, type FileManifest } from '../core/files/manifest.ts'
import { planEviction } from '../core/files/quota.ts'
import {
  countBits,
  hasBit,
  newBitmap,
  setBit,
  type ChunkStore,
  type ImportSink,
  type StoredFileInfo,
} from '../core/files/store.ts'

const log = createLogger('parley:node:files')

const SCHEMA = `
CREATE TABLE IF NOT EXISTS files (
  id TEXT PRIMARY KEY, manifest BLOB NOT NULL, size INTEGER NOT NULL, have BLOB NOT NULL,
  held INTEGER NOT NULL, pinned INTEGER NOT NULL, last_used INTEGER NOT NULL
);`
const COMMIT_CHUNKS = 64
const COMMIT_MS = 200
/** A file written to within this long is not evicted. */
const BUSY_MS = 60_000

interface Row {
  id: string
  manifest: Buffer
  size: number
  have: Buffer
  held: number
  pinned: number
  last_used: number
}

interface Open {
  manifest: FileManifest
  have: Uint8Array
  held: number
  pinned: boolean
  fh: Promise<FileHandle>
  /** Chunks written, not yet durable. */
  pending: Set<number>
  timer: ReturnType<typeof setTimeout> | undefined
  committing: Promise<void>
  lastWrite: number
}

export interface DiskChunkStoreInit {
  /** The directory of the store (`<data>/files`). */
  dir: string
  /** Bytes of file data kept at most. @default unlimited */
  quota?: number
}

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)

function full(err: unknown): unknown {
  const code = (err as { code?: string }).code
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') {
    return new FileStoreFullError(`The disk of the file store is full: ${String(err)}`, {
      cause: err,
    })
  }
  return err
}

export class DiskChunkStore implements ChunkStore {
  readonly #dir: string
  readonly #db: Database.Database
  readonly #quota: number
  readonly #open = new Map<string, Open>()
  #clock = 0

  constructor(init: DiskChunkStoreInit) {
    this.#dir = init.dir
    this.#quota = init.quota ?? Number.POSITIVE_INFINITY
    mkdirSync(this.#dir, { recursive: true })
    for (const f of readdirSync(this.#dir)) if (f.endsWith('.import')) rmSync(join(this.#dir, f))
    this.#db = new Database(join(this.#dir, 'files.db'))
    this.#db.pragma('journal_mode = WAL')
    this.#db.pragma('synchronous = FULL')
    this.#db.exec(SCHEMA)
  }

  /** Date.now(), strictly increasing: least-recently-used order needs no ties. */
  #now(): number {
    this.#clock = Math.max(Date.now(), this.#clock + 1)
    return this.#clock
  }

  #row(id: string): Row | undefined {
    return this.#db.prepare('SELECT * FROM files WHERE id = ?').get(id) as Row | undefined
  }

  #load(id: string): Open | undefined {
    const known = this.#open.get(id)
    if (known !== undefined) return known
    const row = this.#row(id)
    if (row === undefined) return undefined
    const path = join(this.#dir, id)
    const manifest = decodeManifest(u8(row.manifest))
    let have: Uint8Array = u8(row.have).slice()
    if (!existsSync(path)) have = newBitmap(chunkCount(manifest)) // the data went missing: fetch again
    const o: Open = {
      manifest,
      have,
      held: countBits(have, chunkCount(manifest)),
      pinned: row.pinned === 1,
      fh: open(path, existsSync(path) ? 'r+' : 'w+'),
      pending: new Set(),
      timer: undefined,
      committing: Promise.resolve(),
      lastWrite: 0,
    }
    o.fh.catch(() => this.#open.delete(id))
    this.#open.set(id, o)
    return o
  }

  async get(id: string): Promise<StoredFileInfo | undefined> {
    const o = this.#load(id)
    if (o === undefined) return undefined
    const count = chunkCount(o.manifest)
    return {
      id,
      manifest: o.manifest,
      have: o.have.slice(),
      held: o.held,
      complete: o.held === count,
      pinned: o.pinned,
    }
  }

  async manifestBytes(id: string): Promise<Uint8Array | undefined> {
    const row = this.#row(id)
    return row === undefined ? undefined : u8(row.manifest)
  }

  async add(
    id: string,
    bytes: Uint8Array,
    manifest: FileManifest,
    opts: { pinned: boolean },
  ): Promise<void> {
    if (this.#row(id) !== undefined) {
      if (opts.pinned) {
        this.#db.prepare('UPDATE files SET pinned = 1 WHERE id = ?').run(id)
        const o = this.#open.get(id)
        if (o !== undefined) o.pinned = true
      }
      return
    }
    await this.#makeRoom(manifest.size)
    await (await open(join(this.#dir, id), 'w')).close()
    this.#insert(id, bytes, manifest, newBitmap(chunkCount(manifest)), opts.pinned)
  }

  #insert(id: string, bytes: Uint8Array, m: FileManifest, have: Uint8Array, pinned: boolean): void {
    this.#db
      .prepare('INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, bytes, m.size, have, countBits(have, chunkCount(m)), pinned ? 1 : 0, this.#now())
  }

  async readChunk(id: string, index: number, into?: Uint8Array): Promise<Uint8Array> {
    const o = this.#load(id)
    if (o === undefined || !hasBit(o.have, index))
      throw new FileNotHeldError(`chunk ${index} of ${id} is not held`)
    const { chunkSize, size } = o.manifest
    const length = Math.min(chunkSize, size - index * chunkSize)
    if (into !== undefined && into.byteLength !== length) {
      throw new RangeError(`Chunk ${index} of ${id} is ${length} bytes, not ${into.byteLength}`)
    }
    const buf = into ?? u8(Buffer.allocUnsafe(length))
    const { bytesRead } = await (await o.fh).read(buf, 0, length, index * chunkSize)
    if (bytesRead !== length)
      throw new FileNotHeldError(`chunk ${index} of ${id} is cut short on disk`)
    return buf
  }

  async writeChunk(id: string, index: number, bytes: Uint8Array): Promise<void> {
    const o = this.#load(id)
    if (o === undefined) throw new FileNotHeldError(`file ${id} is not in the store`)
    o.lastWrite = Date.now()
    try {
      await (await o.fh).write(bytes, 0, bytes.length, index * o.manifest.chunkSize)
    } catch (err) {
      throw full(err)
    }
    o.pending.add(index)
    if (o.pending.size >= COMMIT_CHUNKS) await this.#commit(id, o)
    else if (o.timer === undefined) {
      o.timer = setTimeout(
        () =>
          void this.#commit(id, o).catch((err: unknown) =>
            log.error('commit of %s failed: %e', id, err),
          ),
        COMMIT_MS,
      )
    }
  }

  /** fdatasync, then mark the chunks written before it in the bitmap (one transaction). */
  #commit(id: string, o: Open): Promise<void> {
    clearTimeout(o.timer)
    o.timer = undefined
    o.committing = o.committing.then(async () => {
      if (o.pending.size === 0) return
      const batch = [...o.pending]
      o.pending.clear()
      try {
        await (await o.fh).datasync()
        const have = o.have.slice()
        for (const i of batch) if (!hasBit(have, i)) setBit(have, i)
        const held = countBits(have, chunkCount(o.manifest))
        this.#db
          .prepare('UPDATE files SET have = ?, held = ?, last_used = ? WHERE id = ?')
          .run(have, held, this.#now(), id)
        o.have = have
        o.held = held
      } catch (err) {
        throw full(err)
      }
    })
    return o.committing
  }

  async flush(id: string): Promise<void> {
    const o = this.#open.get(id)
    if (o !== undefined) await this.#commit(id, o)
  }

  async beginImport(expectedSize: number): Promise<ImportSink> {
    await this.#makeRoom(expectedSize)
    const tmp = join(this.#dir, `${randomBytes(8).toString('hex')}.import`)
    const fh = await open(tmp, 'w')
    let closed = false
    const close = async (): Promise<void> => {
      if (!closed) await fh.close()
      closed = true
    }
    return {
      write: async (_index, bytes) => {
        try {
          // chunks come in order: appended at the file's position
          await fh.write(bytes, 0, bytes.length, null)
        } catch (err) {
          throw full(err)
        }
      },
      finish: async (id, manifestBytes, manifest) => {
        try {
          await fh.datasync()
        } catch (err) {
          throw full(err)
        }
        await close()
        const known = await this.get(id)
        if (known?.complete === true) {
          await rm(tmp, { force: true })
          await this.add(id, manifestBytes, manifest, { pinned: true })
          return
        }
        await this.#drop(id)
        await rename(tmp, join(this.#dir, id))
        this.#insert(id, manifestBytes, manifest, newBitmap(chunkCount(manifest), true), true)
      },
      abort: async () => {
        await close()
        await rm(tmp, { force: true })
      },
    }
  }

  async touch(id: string): Promise<void> {
    this.#db.prepare('UPDATE files SET last_used = ? WHERE id = ?').run(this.#now(), id)
  }

  async remove(id: string): Promise<void> {
    await this.#drop(id)
    this.#db.prepare('DELETE FROM files WHERE id = ?').run(id)
  }

  async #drop(id: string): Promise<void> {
    const o = this.#open.get(id)
    this.#open.delete(id)
    if (o !== undefined) {
      clearTimeout(o.timer)
      await o.committing.catch(() => undefined)
      await (await o.fh.catch(() => undefined))?.close()
    }
    await rm(join(this.#dir, id), { force: true })
  }

  async list(): Promise<{ id: string; size: number; complete: boolean; pinned: boolean }[]> {
    const rows = this.#db
      .prepare('SELECT id, size, held, manifest, pinned FROM files')
      .all() as Row[]
    return rows.map((r) => ({
      id: r.id,
      size: r.size,
      complete:
        (this.#open.get(r.id)?.held ?? r.held) === chunkCount(decodeManifest(u8(r.manifest))),
      pinned: r.pinned === 1,
    }))
  }

  async #makeRoom(size: number): Promise<void> {
    if (this.#quota === Number.POSITIVE_INFINITY) return
    const rows = this.#db.prepare('SELECT id, size, pinned, last_used FROM files').all() as Row[]
    const now = Date.now()
    const busy = new Set(
      [...this.#open].filter(([, o]) => now - o.lastWrite < BUSY_MS).map(([id]) => id),
    )
    const entries = rows.map((r) => ({
      id: r.id,
      size: r.size,
      pinned: r.pinned === 1,
      lastUsed: r.last_used,
    }))
    for (const id of planEviction(entries, this.#quota, size, busy)) {
      log('evicting %s to stay within the file quota', id)
      await this.remove(id)
    }
  }

  async close(): Promise<void> {
    for (const [id, o] of this.#open) {
      await this.#commit(id, o).catch((err: unknown) =>
        log.error('final commit of %s failed: %e', id, err),
      )
      await (await o.fh.catch(() => undefined))?.close()
    }
    this.#open.clear()
    this.#db.close()
  }
}
