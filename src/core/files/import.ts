/**
 * Adds a file from this device to the chunk store: cuts a byte stream into chunks as it arrives,
 * hashes and stores each, then writes the manifest. Holds one chunk in memory at a time, whatever
 * the file's size. Node passes a file read stream, a browser `File.stream()`.
 */
import { CHUNK_SIZE, encodeManifest, type FileManifest } from './manifest.ts'
import type { ChunkStore } from './store.ts'
import { toHex } from './wire.ts'

export interface ImportMeta {
  name: string
  /** Media type ('' when unknown). */
  type: string
  /** Expected size, checked against the quota before the first byte is stored. */
  size: number
}

export interface Imported {
  id: string
  manifest: FileManifest
}

export async function importFile(
  store: ChunkStore,
  sha256: (data: Uint8Array) => Uint8Array,
  source: AsyncIterable<Uint8Array>,
  meta: ImportMeta,
  signal?: AbortSignal,
  chunkSize = CHUNK_SIZE,
): Promise<Imported> {
  const sink = await store.beginImport(meta.size)
  const hashes: Uint8Array[] = []
  const buf = new Uint8Array(chunkSize)
  let filled = 0
  let size = 0
  const emit = async (bytes: Uint8Array): Promise<void> => {
    hashes.push(sha256(bytes))
    await sink.write(hashes.length - 1, bytes)
  }
  try {
    for await (const piece of source) {
      signal?.throwIfAborted()
      let at = 0
      while (at < piece.length) {
        const n = Math.min(chunkSize - filled, piece.length - at)
        buf.set(piece.subarray(at, at + n), filled)
        filled += n
        at += n
        if (filled === chunkSize) {
          await emit(buf) // the sink copies or writes it before resolving: reused
          filled = 0
        }
      }
      size += piece.length
    }
    if (filled > 0) await emit(buf.subarray(0, filled))
    const all = new Uint8Array(hashes.length * 32)
    hashes.forEach((h, i) => all.set(h, i * 32))
    const manifest: FileManifest = {
      name: meta.name,
      size,
      type: meta.type,
      chunkSize,
      hashes: all,
    }
    const bytes = encodeManifest(manifest)
    const id = toHex(sha256(bytes))
    await sink.finish(id, bytes, manifest)
    return { id, manifest }
  } catch (err) {
    await sink.abort()
    throw err
  }
}

/** The bytes of `text` as a one-off async source. */
export async function* bytesSource(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes
}
