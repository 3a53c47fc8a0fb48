/**
 * Files shared in encrypted rooms, streamed (formats: src/crdt/file-seal.ts): a plaintext byte
 * stream becomes ciphertext chunks on the way into the chunk store, and stored ciphertext chunks
 * become plaintext on the way out. One chunk in memory at a time either way. What is stored,
 * served and verified by hash is the ciphertext; only a holder of the attachment's key reads it.
 */
import type { Attachment } from '../../crdt/schema.ts'
import { DecryptionError } from '../../crdt/errors.ts'
import { SEAL_OVERHEAD, openChunk, sealChunk } from '../../crdt/file-seal.ts'
import { chunkCount, chunkLength, type FileManifest } from './manifest.ts'

/** A file without a key was to be shared in an encrypted room (its chunks would be readable). */
export class UnsealedFileError extends Error {
  static override readonly name = 'UnsealedFileError'
  constructor(room: string) {
    super(`${room} is encrypted: share files there sealed (files.add with { sealed: true })`)
    this.name = 'UnsealedFileError'
  }
}

/** Whether an attachment's file is sealed (stored as ciphertext, `key` opens it). */
export const isSealed = (att: Pick<Attachment, 'key'>): boolean => att.key !== undefined

/** The chunks of the sealed file of `source` (plaintext), each exactly `chunkSize` but the last. */
export async function* sealSource(
  source: AsyncIterable<Uint8Array>,
  key: Uint8Array,
  chunkSize: number,
): AsyncGenerator<Uint8Array> {
  const block = new Uint8Array(chunkSize - SEAL_OVERHEAD)
  let filled = 0
  let index = 0
  for await (const piece of source) {
    let at = 0
    while (at < piece.length) {
      // a full block is sealed once more bytes follow it: the last block is known at the end
      if (filled === block.length) {
        yield sealChunk(key, index++, false, block)
        filled = 0
      }
      const n = Math.min(block.length - filled, piece.length - at)
      block.set(piece.subarray(at, at + n), filled)
      filled += n
      at += n
    }
  }
  yield sealChunk(key, index, true, block.subarray(0, filled))
}

/**
 * The plaintext of the sealed file `m` from its stored chunks (in order, in pieces of any size).
 * Throws {@link DecryptionError} when a chunk does not open or the file ends early.
 */
export async function* openSealed(
  chunks: AsyncIterable<Uint8Array>,
  key: Uint8Array,
  m: FileManifest,
): AsyncGenerator<Uint8Array> {
  const count = chunkCount(m)
  let index = 0
  let pending: Uint8Array = new Uint8Array(0)
  for await (const piece of chunks) {
    if (pending.length === 0) pending = piece
    else {
      const joined = new Uint8Array(pending.length + piece.length)
      joined.set(pending)
      joined.set(piece, pending.length)
      pending = joined
    }
    while (index < count && pending.length >= chunkLength(m, index)) {
      const len = chunkLength(m, index)
      yield openChunk(key, index, index === count - 1, pending.subarray(0, len))
      pending = pending.subarray(len)
      index++
    }
  }
  if (index !== count || pending.length > 0) throw new DecryptionError('Sealed file cut short')
}
