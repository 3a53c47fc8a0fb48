/**
 * Reading back files held whole: each chunk checked against its hash again (a disk can rot), and a
 * sealed file's chunks opened with its attachment's key.
 */
import type { Attachment } from '../../crdt/schema.ts'
import { fileKeyOf } from '../../crdt/file-seal.ts'
import { FileNotHeldError } from './errors.ts'
import { chunkCount, chunkHash } from './manifest.ts'
import { openSealed } from './sealed.ts'
import type { ChunkStore } from './store.ts'

/**
 * The bytes of a file `store` holds whole, chunk by chunk, each checked against its hash again
 * (`FileNotHeldError` when not all is held, or a chunk is corrupt); marks it used once read.
 */
export async function* readHeld(
  store: ChunkStore,
  sha256: (data: Uint8Array) => Uint8Array,
  id: string,
): AsyncGenerator<Uint8Array> {
  const info = await store.get(id)
  if (info?.complete !== true) throw new FileNotHeldError(`file ${id} is not held whole`)
  const m = info.manifest
  for (let i = 0; i < chunkCount(m); i++) {
    const bytes = await store.readChunk(id, i)
    if (!equal(sha256(bytes), chunkHash(m, i))) {
      throw new FileNotHeldError(`chunk ${i} of ${id} is corrupt on this disk`)
    }
    yield bytes
  }
  await store.touch(id)
}

/**
 * The bytes of an attachment's file held whole, as its sharer gave them: {@link readHeld}, and for
 * a sealed file each chunk opened with the attachment's key (`DecryptionError` if one does not
 * open).
 */
export async function* openHeld(
  store: ChunkStore,
  sha256: (data: Uint8Array) => Uint8Array,
  att: Pick<Attachment, 'id' | 'key'>,
): AsyncGenerator<Uint8Array> {
  if (att.key === undefined) return yield* readHeld(store, sha256, att.id)
  const info = await store.get(att.id)
  if (info?.complete !== true) throw new FileNotHeldError(`file ${att.id} is not held whole`)
  yield* openSealed(readHeld(store, sha256, att.id), fileKeyOf(att.key), info.manifest)
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
