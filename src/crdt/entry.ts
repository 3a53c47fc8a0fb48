/**
 * The entry: one immutable, hash-linked change to a room by one author device (docs/architecture.md).
 * `hash(entry) = sha256(encodeEntry(entry))`, so the encoding is deterministic and decoding is strict:
 * one entry has exactly one byte string, and any other byte string is a {@link MalformedEntryError}.
 *
 * Version 1 layout (varuints are lib0's, canonical: no superfluous continuation bytes):
 * `u8 1 | varstring room | author[32] | varuint seq | prev[32] | varuint wall | varuint count |
 * varuint period | varuint len | update[len]`
 */
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { InvalidAuthorIdError, MalformedEntryError } from './errors.ts'
import { isHlc, type Hlc } from './hlc.ts'
import { KEY_BYTES, SIG_BYTES, type DeviceSigner, type HistoryCrypto } from './crypto.ts'
import { toBase64Url } from './base64url.ts'

/** One change to a room: a Yjs v1 update to the document `(room, period)`, in its author's chain. */
export interface Entry {
  room: string
  /** The author device's raw Ed25519 public key (32 bytes). */
  author: Uint8Array
  /** Position in the author's chain for this room, from 1. */
  seq: number
  /** Hash of entry `seq - 1`; 32 zero bytes for `seq = 1`. */
  prev: Uint8Array
  hlc: Hlc
  /** `periodOf(hlc.wall)`, or {@link META_PERIOD} for the room's meta document. */
  period: number
  update: Uint8Array
}

/** The first byte of every encoded entry. */
export const ENTRY_VERSION = 1
/** One period (one period document) is one UTC day. */
export const PERIOD_MS = 86_400_000
/** The period of the room's meta document; far above any day period, so newest-first visits it first. */
export const META_PERIOD = 0xffff_ffff
/** Largest Yjs update one entry carries. */
export const MAX_UPDATE_BYTES = 2 * 1024 * 1024
/** Largest encoded entry: the update plus the fields (≤ 158 bytes), rounded up. */
export const MAX_ENTRY_BYTES = MAX_UPDATE_BYTES + 256
/** Smallest encoded entry (1-character room, 1-byte update). */
export const MIN_ENTRY_BYTES = 73
/** Largest seq: 2^48. */
export const MAX_SEQ = 2 ** 48
/** Length of entry hashes. */
export const HASH_BYTES = 32
/** The `prev` of seq 1. */
export const ZERO_HASH: Uint8Array = new Uint8Array(HASH_BYTES)
/** Room ids: lowercase ASCII letters, digits, `.`, `_`, `-`; 1–64 characters, not starting with punctuation. */
export const ROOM_ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/

/** Whether `v` is a room id (see {@link ROOM_ID_RE}). */
export function isRoomId(v: unknown): v is string {
  return typeof v === 'string' && ROOM_ID_RE.test(v)
}

/** The day period a wall time (ms since the epoch) falls in. */
export function periodOf(wall: number): number {
  return Math.floor(wall / PERIOD_MS)
}

/** Whether two byte arrays hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Lexicographic order of byte arrays, for `Array.sort`. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d
  }
  return a.length - b.length
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * A strict reader over untrusted bytes, shared by the entry and frame codecs: every read is bounds
 * checked, varuints must be canonical, strings valid UTF-8, and every failure is `fail(reason)`.
 * @internal
 */
export class ByteReader {
  readonly #d: decoding.Decoder
  readonly #fail: (reason: string) => Error

  constructor(bytes: Uint8Array, fail: (reason: string) => Error) {
    this.#d = decoding.createDecoder(bytes)
    this.#fail = fail
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#d.arr.length - this.#d.pos
  }

  /** The error to throw for `reason`. */
  fail(reason: string): Error {
    return this.#fail(reason)
  }

  /** One byte. */
  u8(): number {
    if (this.remaining < 1) throw this.#fail('truncated')
    return decoding.readUint8(this.#d)
  }

  /** A canonical varuint ≤ `max` (at most 8 bytes, so at most 2^53 - 1 for any `max`). */
  varUint(max: number): number {
    let value = 0
    let mult = 1
    for (let i = 0; i < 8; i++) {
      const b = this.u8()
      value += (b & 0x7f) * mult
      if (b < 0x80) {
        if (b === 0 && i > 0) throw this.#fail('non-canonical varuint')
        if (value > max) throw this.#fail('integer out of range')
        return value
      }
      mult *= 128
    }
    throw this.#fail('varuint too long')
  }

  /** `n` bytes as a view of the input (no copy). */
  view(n: number): Uint8Array {
    if (this.remaining < n) throw this.#fail('truncated')
    return decoding.readUint8Array(this.#d, n)
  }

  /** `n` bytes, copied. */
  copy(n: number): Uint8Array {
    return this.view(n).slice()
  }

  /** A length-prefixed UTF-8 string of at most `maxBytes` bytes. */
  string(maxBytes: number): string {
    const bytes = this.view(this.varUint(maxBytes))
    try {
      return utf8.decode(bytes)
    } catch (err) {
      throw this.#fail(`invalid UTF-8 (${String(err)})`)
    }
  }

  /** A count ≤ `max` of items of at least `minItemBytes` each that the rest of the input can hold. */
  count(max: number, minItemBytes: number): number {
    const n = this.varUint(max)
    if (n * minItemBytes > this.remaining) throw this.#fail('count exceeds input')
    return n
  }

  /** Throws unless every byte was read. */
  end(): void {
    if (this.remaining !== 0) throw this.#fail('trailing bytes')
  }
}

/** Throws a {@link MalformedEntryError} naming the first field of `e` that is out of bounds. */
const bad = (field: string): never => {
  throw new MalformedEntryError(`Malformed entry: ${field}`)
}

function checkEntry(e: Entry): void {
  if (!isRoomId(e.room)) bad('room')
  if (e.author.length !== KEY_BYTES) bad('author')
  if (!Number.isInteger(e.seq) || e.seq < 1 || e.seq > MAX_SEQ) bad('seq')
  if (e.prev.length !== HASH_BYTES) bad('prev')
  if (e.seq === 1 && !equalBytes(e.prev, ZERO_HASH)) bad('prev of seq 1')
  if (!isHlc(e.hlc)) bad('hlc')
  if (e.period !== periodOf(e.hlc.wall) && e.period !== META_PERIOD) bad('period')
  if (e.update.length === 0 || e.update.length > MAX_UPDATE_BYTES) bad('update length')
}

/** The canonical bytes of `e`. Throws a {@link MalformedEntryError} if any field is out of bounds. */
export function encodeEntry(e: Entry): Uint8Array {
  checkEntry(e)
  const enc = encoding.createEncoder()
  encoding.writeUint8(enc, ENTRY_VERSION)
  encoding.writeVarString(enc, e.room)
  encoding.writeUint8Array(enc, e.author)
  encoding.writeVarUint(enc, e.seq)
  encoding.writeUint8Array(enc, e.prev)
  encoding.writeVarUint(enc, e.hlc.wall)
  encoding.writeVarUint(enc, e.hlc.count)
  encoding.writeVarUint(enc, e.period)
  encoding.writeVarUint8Array(enc, e.update)
  return encoding.toUint8Array(enc)
}

/**
 * Parses untrusted bytes. Throws {@link MalformedEntryError} and nothing else, in time linear in the input,
 * allocating at most the input's size. `update` is a view of `bytes` (not a copy).
 */
export function decodeEntry(bytes: Uint8Array): Entry {
  if (bytes.length < MIN_ENTRY_BYTES || bytes.length > MAX_ENTRY_BYTES) {
    throw new MalformedEntryError('Malformed entry: size')
  }
  const r = new ByteReader(bytes, (reason) => new MalformedEntryError(`Malformed entry: ${reason}`))
  if (r.u8() !== ENTRY_VERSION) throw r.fail('unknown version')
  const room = r.string(64)
  const author = r.copy(KEY_BYTES)
  const seq = r.varUint(MAX_SEQ)
  const prev = r.copy(HASH_BYTES)
  const wall = r.varUint(Number.MAX_SAFE_INTEGER)
  const count = r.varUint(Number.MAX_SAFE_INTEGER)
  const period = r.varUint(META_PERIOD)
  const update = r.view(r.varUint(MAX_UPDATE_BYTES))
  r.end()
  const entry: Entry = { room, author, seq, prev, hlc: { wall, count }, period, update }
  checkEntry(entry)
  return entry
}

/** An author's signature over its chain up to `seq`, whose entry hashes to `hash`. */
export interface SignedHead {
  room: string
  author: Uint8Array
  seq: number
  hash: Uint8Array
  /** Ed25519 signature by `author` of {@link headMessage}`(room, seq, hash)`. */
  sig: Uint8Array
}

const HEAD_DOMAIN = new TextEncoder().encode('parley/head/1\0')

/** The bytes a head signature covers: `"parley/head/1\0" ‖ room ‖ "\0" ‖ varuint(seq) ‖ hash`. */
export function headMessage(room: string, seq: number, hash: Uint8Array): Uint8Array {
  const enc = encoding.createEncoder()
  encoding.writeUint8Array(enc, HEAD_DOMAIN)
  // room ids are ASCII without NUL (ROOM_ID_RE), so the terminator is unambiguous
  encoding.writeUint8Array(enc, new TextEncoder().encode(room))
  encoding.writeUint8(enc, 0)
  encoding.writeVarUint(enc, seq)
  encoding.writeUint8Array(enc, hash)
  return encoding.toUint8Array(enc)
}

function isHeadShape(room: string, seq: number, hash: Uint8Array): boolean {
  return (
    isRoomId(room) &&
    Number.isInteger(seq) &&
    seq >= 1 &&
    seq <= MAX_SEQ &&
    hash.length === HASH_BYTES
  )
}

/** Signs the head `(room, seq, hash)` of the signer's own chain. Throws a `RangeError` on bad input. */
export async function signHead(
  signer: DeviceSigner,
  room: string,
  seq: number,
  hash: Uint8Array,
): Promise<SignedHead> {
  if (!isHeadShape(room, seq, hash)) throw new RangeError('signHead: invalid room, seq or hash')
  const sig = await signer.sign(headMessage(room, seq, hash))
  return { room, author: signer.publicKey, seq, hash, sig }
}

/** Whether `head` is well formed and its signature verifies. Never throws on bad input. */
export async function verifyHead(crypto: HistoryCrypto, head: SignedHead): Promise<boolean> {
  if (!isHeadShape(head.room, head.seq, head.hash)) return false
  if (head.author.length !== KEY_BYTES || head.sig.length !== SIG_BYTES) return false
  return crypto.verify(head.author, head.sig, headMessage(head.room, head.seq, head.hash))
}

/**
 * The author key of encoded entry `bytes` (a view), read without decoding the rest: for grouping a batch
 * by author before verifying it. Throws {@link MalformedEntryError} if the bytes are too short to hold one.
 */
export function entryAuthorOf(bytes: Uint8Array): Uint8Array {
  const roomLength = bytes[1] ?? 0x80 // room ids are ≤ 64 bytes: a one-byte length
  if (bytes[0] !== ENTRY_VERSION || roomLength > 64 || bytes.length < 2 + roomLength + KEY_BYTES) {
    throw new MalformedEntryError('Malformed entry: no author')
  }
  return bytes.subarray(2 + roomLength, 2 + roomLength + KEY_BYTES)
}

/**
 * The seq of encoded entry `bytes`, read without decoding the rest: for ordering a batch by chain
 * before verifying it (the entry is decoded once, after its hash is checked). Throws
 * {@link MalformedEntryError} if the bytes do not hold one.
 */
export function entrySeqOf(bytes: Uint8Array): number {
  const author = entryAuthorOf(bytes)
  const r = new ByteReader(
    bytes.subarray(author.byteOffset - bytes.byteOffset + KEY_BYTES),
    (reason) => new MalformedEntryError(`Malformed entry: ${reason}`),
  )
  const seq = r.varUint(MAX_SEQ)
  if (seq < 1) bad('seq')
  return seq
}

const AUTHOR_ID_RE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/

/** An author's 43-character text id: its 32-byte key in base64url without padding. */
export function authorId(publicKey: Uint8Array): string {
  if (publicKey.length !== KEY_BYTES) throw new RangeError('authorId: key must be 32 bytes')
  return toBase64Url(publicKey)
}

/** The 32-byte key of an {@link authorId}. Throws {@link InvalidAuthorIdError} unless `id` is canonical. */
export function authorFromId(id: string): Uint8Array {
  // the last character carries 4 bits of key and 2 zero bits: only 16 of 64 characters are canonical
  if (!AUTHOR_ID_RE.test(id)) throw new InvalidAuthorIdError()
  const bin = atob(id.replace(/-/g, '+').replace(/_/g, '/') + '=')
  const key = new Uint8Array(KEY_BYTES)
  for (let i = 0; i < KEY_BYTES; i++) key[i] = bin.charCodeAt(i)
  return key
}
