/**
 * The chunk store contract: where a peer keeps the files it holds, whole or in part. Node peers use
 * the data directory (`src/node/file-store.ts`); {@link MemoryChunkStore} serves tests and tabs
 * without persistent storage; a browser implementation on OPFS or IndexedDB plugs in the same way.
 *
 * Crash safety is the store's job: a chunk counts as held (`have`) only once it is durable, so a
 * transfer cut by a crash resumes from the bitmap and never trusts a chunk that was half written.
 */
import { chunkCount, chunkLength, type FileManifest } from './manifest.ts'

/** One file in a store. */
export interface StoredFileInfo {
  id: string
  manifest: FileManifest
  /** Bit `i` (byte `i >> 3`, bit `i & 7`) is set when chunk `i` is durably held. */
  have: Uint8Array
  /** Number of chunks held. */
  held: number
  complete: boolean
  /** Put here by this device's user (shared or fetched on purpose): never evicted. */
  pinned: boolean
}

/** Writes a new file chunk by chunk, before its id is known (sharing from this device). */
export interface ImportSink {
  /**
   * Appends chunk `index` (chunks come in order, each `chunkSize` long but the last). `bytes` is
   * reused by the caller once this resolves: copy it to keep it.
   */
  write(index: number, bytes: Uint8Array): Promise<void>
  /** Stores the file under `id`, complete and pinned. */
  finish(id: string, manifestBytes: Uint8Array, manifest: FileManifest): Promise<void>
  /** Drops what was written. */
  abort(): Promise<void>
}

export interface ChunkStore {
  /** The file's manifest and what is held of it; undefined when the store does not know it. */
  get(id: string): Promise<StoredFileInfo | undefined>
  manifestBytes(id: string): Promise<Uint8Array | undefined>
  /**
   * Starts holding a file whose manifest was verified (its SHA-256 is `id`), with no chunks yet.
   * Pinning an existing file pins it. Throws `FileQuotaError` when it does not fit.
   */
  add(
    id: string,
    manifestBytes: Uint8Array,
    manifest: FileManifest,
    opts: { pinned: boolean },
  ): Promise<void>
  /**
   * Chunk `index` of `id`, which must be held (else `FileNotHeldError`). With `into` (exactly the
   * chunk's length), the bytes are read into it and `into` is returned.
   */
  readChunk(id: string, index: number, into?: Uint8Array): Promise<Uint8Array>
  /**
   * Writes chunk `index` (already verified against the manifest). It joins `have` once durable,
   * at the latest after {@link flush}. Throws `FileStoreFullError` when the disk is full.
   */
  writeChunk(id: string, index: number, bytes: Uint8Array): Promise<void>
  /** Makes every chunk written so far durable and held. */
  flush(id: string): Promise<void>
  /** Starts importing a new file of (about) `expectedSize` bytes; checks the quota. */
  beginImport(expectedSize: number): Promise<ImportSink>
  /** Marks `id` as just used (least recently used files are evicted first). */
  touch(id: string): Promise<void>
  remove(id: string): Promise<void>
  list(): Promise<{ id: string; size: number; complete: boolean; pinned: boolean }[]>
  close(): Promise<void>
}

export const hasBit = (bits: Uint8Array, i: number): boolean =>
  ((bits[i >> 3] ?? 0) & (1 << (i & 7))) !== 0

export function setBit(bits: Uint8Array, i: number): void {
  bits[i >> 3]! |= 1 << (i & 7)
}

/** A bitmap of `count` bits, all clear (or all set). */
export function newBitmap(count: number, full = false): Uint8Array {
  const bits = new Uint8Array(Math.ceil(count / 8))
  if (full) for (let i = 0; i < count; i++) setBit(bits, i)
  return bits
}

/** Number of set bits among the first `count`. */
export function countBits(bits: Uint8Array, count: number): number {
  let n = 0
  for (let i = 0; i < count; i++) if (hasBit(bits, i)) n++
  return n
}

/** Bytes of the chunks of `m` that `have` holds. */
export function heldBytes(m: FileManifest, have: Uint8Array): number {
  let n = 0
  for (let i = 0; i < chunkCount(m); i++) if (hasBit(have, i)) n += chunkLength(m, i)
  return n
}

/** `readChunk`'s `into`: `bytes` copied into it, which must be exactly as long (else RangeError). */
export function copyInto(into: Uint8Array, bytes: Uint8Array): Uint8Array {
  if (into.byteLength !== bytes.byteLength) {
    throw new RangeError(`A chunk of ${bytes.byteLength} bytes read into ${into.byteLength}`)
  }
  into.set(bytes)
  return into
}
