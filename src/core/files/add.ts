/**
 * Adding a file from this device: imported into the chunk store (import.ts) and described by its
 * attachment record; a sealed one (files of encrypted rooms) stored as ciphertext under a fresh key
 * the attachment carries (sealed.ts).
 */
import type { Attachment } from '../../crdt/schema.ts'
import { SEALED_NAME, fileKeyHex, newFileKey, plainSize, sealedSize } from '../../crdt/file-seal.ts'
import { importFile, type ImportMeta } from './import.ts'
import { CHUNK_SIZE } from './manifest.ts'
import { sealSource } from './sealed.ts'
import type { ChunkStore } from './store.ts'

export interface AddInit {
  store: ChunkStore
  sha256: (data: Uint8Array) => Uint8Array
  /** @default CHUNK_SIZE (1 MiB) */
  chunkSize: number | undefined
}

/** Stores a file from this device (a byte stream of any length) and gives its attachment record. */
export async function addFile(
  init: AddInit,
  source: AsyncIterable<Uint8Array>,
  meta: ImportMeta,
  signal: AbortSignal | undefined,
  sealed: boolean,
): Promise<Attachment> {
  const { store, sha256 } = init
  if (sealed) {
    const key = newFileKey()
    const cs = init.chunkSize ?? CHUNK_SIZE
    const sealedMeta = { name: SEALED_NAME, type: '', size: sealedSize(meta.size, cs) }
    const sealedBytes = sealSource(source, key, cs)
    const { id, manifest: m } = await importFile(store, sha256, sealedBytes, sealedMeta, signal, cs)
    const size = plainSize(m.size, m.chunkSize)
    return { id, name: meta.name, size, type: meta.type, kind: 'file', key: fileKeyHex(key) }
  }
  const { id, manifest } = await importFile(store, sha256, source, meta, signal, init.chunkSize)
  return { id, name: manifest.name, size: manifest.size, type: manifest.type, kind: 'file' }
}
