/**
 * Sealed files: the chunks of a file shared in an encrypted room (a private room or a dm), so that
 * peers that are not members — always-on Node peers included — hold, verify and serve it without
 * reading it (issue #5 point 4). Pure crypto; streaming is src/core/files/sealed.ts.
 *
 * A sealed file has its own random 32-byte key. Its plaintext is cut into blocks of
 * `chunkSize - 16` bytes; block `i` becomes stored chunk `i`:
 * `XChaCha20-Poly1305(key, nonce = "PFS1" ‖ u32be i ‖ 0[16], aad, block)` with
 * `aad = "parley/file/1\0" ‖ u32be i ‖ u8 last`, so a chunk opens only at its place and the last
 * one only as the last (an empty file is one 16-byte chunk). The key is fresh for every file, so
 * the index alone never repeats a nonce under one key.
 *
 * What is stored and served is then an ordinary file (src/core/files/manifest.ts) whose manifest
 * names `sealed.bin`, no media type, and the SHA-256 of each ciphertext chunk: content addressing
 * and per-chunk verification work for every holder. The real name, size, media type and the key
 * travel in the attachment record of the message, which is itself sealed under the room's epoch
 * key (src/crdt/e2ee.ts): only members learn them.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { DecryptionError } from './errors.ts'

/** Length of file keys. */
export const FILE_KEY_BYTES = 32
/** Bytes a sealed chunk adds to its block. */
export const SEAL_OVERHEAD = 16
/** Name in the manifest of every sealed file. */
export const SEALED_NAME = 'sealed.bin'

const te = new TextEncoder()
const AAD_PREFIX = te.encode('parley/file/1\0')
const NONCE_PREFIX = te.encode('PFS1')

/** A fresh file key. */
export const newFileKey = (): Uint8Array => crypto.getRandomValues(new Uint8Array(FILE_KEY_BYTES))

function params(index: number, last: boolean): { nonce: Uint8Array; aad: Uint8Array } {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) throw new RangeError('index')
  const nonce = new Uint8Array(24)
  nonce.set(NONCE_PREFIX)
  new DataView(nonce.buffer).setUint32(4, index)
  const aad = new Uint8Array(AAD_PREFIX.length + 5)
  aad.set(AAD_PREFIX)
  new DataView(aad.buffer).setUint32(AAD_PREFIX.length, index)
  aad[AAD_PREFIX.length + 4] = last ? 1 : 0
  return { nonce, aad }
}

/** Seals plaintext block `index` of a file (`last`: the file's final block). */
export function sealChunk(
  key: Uint8Array,
  index: number,
  last: boolean,
  block: Uint8Array,
): Uint8Array {
  const { nonce, aad } = params(index, last)
  return xchacha20poly1305(key, nonce, aad).encrypt(block)
}

/** Opens stored chunk `index`. Throws {@link DecryptionError} (wrong key, place or bytes). */
export function openChunk(
  key: Uint8Array,
  index: number,
  last: boolean,
  chunk: Uint8Array,
): Uint8Array {
  const { nonce, aad } = params(index, last)
  try {
    return xchacha20poly1305(key, nonce, aad).decrypt(chunk)
  } catch (err) {
    throw new DecryptionError(`Chunk ${index} of a sealed file does not open`, { cause: err })
  }
}

/** Stored size of a sealed file of `plain` bytes in chunks of `chunkSize`. */
export function sealedSize(plain: number, chunkSize: number): number {
  const block = chunkSize - SEAL_OVERHEAD
  return plain + SEAL_OVERHEAD * Math.max(1, Math.ceil(plain / block))
}

/** Plaintext size of a sealed file stored as `stored` bytes in chunks of `chunkSize`. */
export function plainSize(stored: number, chunkSize: number): number {
  return Math.max(0, stored - SEAL_OVERHEAD * Math.ceil(stored / chunkSize))
}

/** A file key as an attachment carries it (64 lowercase hex). */
export function fileKeyHex(key: Uint8Array): string {
  let s = ''
  for (const b of key) s += b.toString(16).padStart(2, '0')
  return s
}

/** The key of an attachment's `key` field. Throws `RangeError` for anything but 64 hex. */
export function fileKeyOf(hex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new RangeError('a file key is 64 lowercase hex digits')
  const out = new Uint8Array(FILE_KEY_BYTES)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}
