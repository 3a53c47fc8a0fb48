/**
 * File manifests (issue #5): what a file is, in canonical bytes. A file is cut into chunks of
 * `chunkSize` bytes (the last one shorter); the manifest lists the SHA-256 of each, and the file's id
 * is the SHA-256 of the manifest. So the id names the exact bytes, and every chunk is checked on its
 * own as it arrives, from whichever peer.
 *
 * A 10 GB file at 1 MiB has 10,240 chunks: a 320 KiB manifest. The manifest is one flat list rather
 * than a Merkle tree: it travels as several response frames when it is larger than one (up to
 * {@link MAX_MANIFEST_BYTES}, 2 TiB of file at 1 MiB), and it is held whole in memory while a
 * transfer runs (64 MiB at most).
 *
 * ```
 * "PFM1" | u32 chunkSize | u64 size | u16 nameLength | name (UTF-8) | u16 typeLength | type (ASCII)
 *        | 32 × ceil(size / chunkSize) chunk hashes
 * ```
 * Pure: no I/O. Decoding is strict and throws only {@link MalformedManifestError}.
 */
import { MalformedManifestError } from './errors.ts'

/** What a file is: its name, size, media type and chunk hashes. */
export interface FileManifest {
  name: string
  size: number
  type: string
  chunkSize: number
  /** SHA-256 of each chunk, concatenated (32 bytes each). */
  hashes: Uint8Array
}

/** Chunk size of the files this peer shares. Chunk frames stay well under `MAX_FRAME_BYTES` (3 MiB). */
export const CHUNK_SIZE = 1024 * 1024
/** Smallest and largest chunk size accepted from others. */
export const MIN_CHUNK_SIZE = 16 * 1024
export const MAX_CHUNK_SIZE = 2 * 1024 * 1024
/** Largest manifest: 2 M chunks (2 TiB at 1 MiB). */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024
/** Longest file name and media type in a manifest (as in the attachment record). */
export const MAX_NAME_BYTES = 255
export const MAX_TYPE_LENGTH = 127
const HASH = 32
const MAGIC = [0x50, 0x46, 0x4d, 0x31] // "PFM1"
const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** Number of chunks of a file of `size` bytes. */
export const chunkCount = (m: Pick<FileManifest, 'size' | 'chunkSize'>): number =>
  Math.ceil(m.size / m.chunkSize)

/** Length of chunk `index`. */
export function chunkLength(m: Pick<FileManifest, 'size' | 'chunkSize'>, index: number): number {
  return Math.min(m.chunkSize, m.size - index * m.chunkSize)
}

/** SHA-256 of chunk `index` (a view into `m.hashes`). */
export const chunkHash = (m: FileManifest, index: number): Uint8Array =>
  m.hashes.subarray(index * HASH, (index + 1) * HASH)

export function encodeManifest(m: FileManifest): Uint8Array {
  const name = utf8.encode(m.name)
  const type = utf8.encode(m.type)
  check(m.name, name, m.type, m.size, m.chunkSize)
  if (m.hashes.length !== chunkCount(m) * HASH) throw bad('hash list does not match the size')
  const out = new Uint8Array(4 + 4 + 8 + 2 + name.length + 2 + type.length + m.hashes.length)
  const dv = new DataView(out.buffer)
  out.set(MAGIC, 0)
  dv.setUint32(4, m.chunkSize)
  dv.setBigUint64(8, BigInt(m.size))
  dv.setUint16(16, name.length)
  out.set(name, 18)
  let at = 18 + name.length
  dv.setUint16(at, type.length)
  out.set(type, at + 2)
  at += 2 + type.length
  out.set(m.hashes, at)
  if (out.length > MAX_MANIFEST_BYTES) throw bad('too many chunks')
  return out
}

export function decodeManifest(bytes: Uint8Array): FileManifest {
  if (bytes.length > MAX_MANIFEST_BYTES) throw bad('too large')
  if (bytes.length < 20 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad('not a manifest')
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const chunkSize = dv.getUint32(4)
  const big = dv.getBigUint64(8)
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw bad('size too large')
  const size = Number(big)
  const nameLength = dv.getUint16(16)
  let at = 18 + nameLength
  if (at + 2 > bytes.length) throw bad('truncated')
  const nameBytes = bytes.subarray(18, at)
  const typeLength = dv.getUint16(at)
  // (subarray would cut a type that runs past the end short without a word)
  if (at + 2 + typeLength > bytes.length) throw bad('truncated')
  const typeBytes = bytes.subarray(at + 2, at + 2 + typeLength)
  at += 2 + typeLength
  let name: string
  let type: string
  try {
    name = strictUtf8.decode(nameBytes)
    type = strictUtf8.decode(typeBytes)
  } catch {
    throw bad('names are not UTF-8')
  }
  check(name, nameBytes, type, size, chunkSize)
  const hashes = bytes.subarray(at)
  if (hashes.length !== Math.ceil(size / chunkSize) * HASH) throw bad('hash list does not match')
  return { name, size, type, chunkSize, hashes }
}

function check(name: string, nameBytes: Uint8Array, type: string, size: number, cs: number): void {
  if (nameBytes.length === 0 || nameBytes.length > MAX_NAME_BYTES) throw bad('bad name length')
  // A name is a name, not a path: a receiver may write it into a directory.
  if (/[/\\\0]/.test(name) || name === '.' || name === '..') throw bad('name is a path')
  if (type.length > MAX_TYPE_LENGTH || !/^[\x20-\x7e]*$/.test(type)) throw bad('bad media type')
  if (!Number.isSafeInteger(size) || size < 0) throw bad('bad size')
  if (cs < MIN_CHUNK_SIZE || cs > MAX_CHUNK_SIZE || (cs & (cs - 1)) !== 0) throw bad('chunk size')
}

const bad = (why: string): MalformedManifestError =>
  new MalformedManifestError(`Malformed file manifest: ${why}`)
