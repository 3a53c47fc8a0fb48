/**
 * End-to-end encryption of private rooms and direct messages (docs/architecture.md, "Encrypted
 * rooms"): the bytes of entry `update`s in such a room, and the room key records that carry the
 * epoch keys. Pure codecs and crypto; which keys a peer holds is src/core/room-keys.ts's business.
 *
 * A room is encrypted by its id (src/crdt/room-ids.ts): `dm.<…>` and `p.<…>`, so every peer, member
 * or not, knows without reading anything. There, an entry's `update` is one of (first byte tells; a
 * Yjs v1 update Parley accepts starts with 0 or 1, at most one struct section):
 *
 * - sealed update: `0xe1 | epoch[16] | nonce[24] | XChaCha20-Poly1305(key, nonce, aad, yjs update)`,
 *   aad = `"parley/e2ee/entry/1\0" ‖ room ‖ "\0" ‖ author[32] ‖ varuint seq ‖ varuint period ‖ epoch`,
 *   so a ciphertext opens only as the entry it was written for;
 * - key record (always in the meta period): `0xe2 | flags | varuint n | recipient[32] × n`, then if
 *   `flags & 2` (it removes members, with their cut): `varuint m | (key[32] | varuint seq | hash[32]) × m`,
 *   the chain head in this room of each member it leaves out as its author held it (keys ascending;
 *   seq 0 and a zero hash: none held), and if `flags & 1` (it starts an epoch):
 *   `epoch[16] | wrap[80] × n | nonce[24] | varuint len | history`.
 *   The recipients are the room's members from then on (author keys, ascending, distinct). Each wrap is
 *   the new 32-byte epoch key sealed to one recipient: `eph[32] | AEAD(k, 0, aad, key)[48]` with
 *   `k = HKDF-SHA256(X25519(eph, X(recipient)), eph ‖ X(recipient), info)` where `X` is the Ed25519 →
 *   X25519 map (sealed-box style, one ephemeral key per wrap). `history` is every older epoch key the
 *   issuer holds, `(epoch[16] ‖ key[32]) × m`, sealed under the new key: a member added later opens it
 *   and reads the room's history. A record without a key changes membership only (a member leaving);
 *   the next member who writes starts a new epoch.
 *
 * The entry's hash and its author's signature cover these bytes as they are: a peer without keys
 * verifies, stores and serves them exactly like any other entry.
 */
import * as encoding from 'lib0/encoding'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { ByteReader, HASH_BYTES, MAX_SEQ, compareBytes, equalBytes } from './entry.ts'
import { KEY_BYTES } from './crypto.ts'
import { DecryptionError, MalformedEnvelopeError } from './errors.ts'
import { MAX_MEMBERS } from './meta.ts'
import { toHex } from './room-ids.ts'

const te = new TextEncoder()

/** First byte of a sealed update. */
export const SEALED_TAG = 0xe1
/** First byte of a room key record. */
export const KEYS_TAG = 0xe2
/** Length of epoch ids. */
export const EPOCH_BYTES = 16
/** Length of room (epoch) keys. */
export const ROOM_KEY_BYTES = 32
const NONCE_BYTES = 24
const TAG_BYTES = 16
const WRAP_BYTES = 32 + ROOM_KEY_BYTES + TAG_BYTES
/** Most older epoch keys one record carries forward. */
export const MAX_HISTORY_KEYS = 4096

/** What kind of bytes an entry `update` is. */
export function updateKind(update: Uint8Array): 'sealed' | 'keys' | 'plain' {
  return update[0] === SEALED_TAG ? 'sealed' : update[0] === KEYS_TAG ? 'keys' : 'plain'
}

/** The entry a sealed update belongs to. */
export interface EntryId {
  room: string
  author: Uint8Array
  seq: number
  period: number
}

function entryAad(id: EntryId, epoch: Uint8Array): Uint8Array {
  const enc = encoding.createEncoder()
  encoding.writeUint8Array(enc, te.encode('parley/e2ee/entry/1\0'))
  encoding.writeUint8Array(enc, te.encode(id.room))
  encoding.writeUint8(enc, 0)
  encoding.writeUint8Array(enc, id.author)
  encoding.writeVarUint(enc, id.seq)
  encoding.writeVarUint(enc, id.period)
  encoding.writeUint8Array(enc, epoch)
  return encoding.toUint8Array(enc)
}

const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n))

/** A fresh epoch: a random id and a random key. */
export function newEpoch(): { epoch: Uint8Array; key: Uint8Array } {
  return { epoch: random(EPOCH_BYTES), key: random(ROOM_KEY_BYTES) }
}

/** Seals the Yjs update `plain` of entry `id` under epoch `epoch`'s `key`. */
export function sealUpdate(
  epoch: Uint8Array,
  key: Uint8Array,
  id: EntryId,
  plain: Uint8Array,
): Uint8Array {
  const nonce = random(NONCE_BYTES)
  const ct = xchacha20poly1305(key, nonce, entryAad(id, epoch)).encrypt(plain)
  const out = new Uint8Array(1 + EPOCH_BYTES + NONCE_BYTES + ct.length)
  out[0] = SEALED_TAG
  out.set(epoch, 1)
  out.set(nonce, 1 + EPOCH_BYTES)
  out.set(ct, 1 + EPOCH_BYTES + NONCE_BYTES)
  return out
}

/** The epoch id a sealed update names. Throws {@link MalformedEnvelopeError}. */
export function sealedEpoch(update: Uint8Array): Uint8Array {
  if (update[0] !== SEALED_TAG || update.length < 1 + EPOCH_BYTES + NONCE_BYTES + TAG_BYTES + 1)
    throw new MalformedEnvelopeError('Malformed sealed update')
  return update.subarray(1, 1 + EPOCH_BYTES)
}

/** Opens a sealed update of entry `id`. Throws {@link DecryptionError} if it does not open. */
export function openUpdate(key: Uint8Array, id: EntryId, update: Uint8Array): Uint8Array {
  const epoch = sealedEpoch(update)
  const nonce = update.subarray(1 + EPOCH_BYTES, 1 + EPOCH_BYTES + NONCE_BYTES)
  try {
    return xchacha20poly1305(key, nonce, entryAad(id, epoch)).decrypt(
      update.subarray(1 + EPOCH_BYTES + NONCE_BYTES),
    )
  } catch (err) {
    throw new DecryptionError(undefined, { cause: err })
  }
}

/** A removed member's chain head in the room, as a key record carries it. */
export interface RemovalCut {
  key: Uint8Array
  seq: number
  hash: Uint8Array
}

/** A decoded key record. */
export interface KeyRecord {
  /** The room's members from this record on (author keys, ascending). */
  recipients: Uint8Array[]
  /**
   * The members this record leaves out, each with its chain head in the room as the record's
   * author held it (seq 0: none): their entries beyond it are refused (src/core/room-key-records.ts).
   */
  cut?: RemovalCut[]
  /** Present when the record starts an epoch. */
  keyed?: {
    epoch: Uint8Array
    /** One per recipient, in the same order. */
    wraps: Uint8Array[]
    nonce: Uint8Array
    history: Uint8Array
  }
}

/** Parses a key record. Throws {@link MalformedEnvelopeError}. */
export function decodeKeyRecord(bytes: Uint8Array): KeyRecord {
  const r = new ByteReader(
    bytes,
    (why) => new MalformedEnvelopeError(`Malformed key record: ${why}`),
  )
  if (r.u8() !== KEYS_TAG) throw r.fail('not a key record')
  const flags = r.u8()
  if (flags > 3) throw r.fail('unknown flags')
  const n = r.count(MAX_MEMBERS, KEY_BYTES)
  const recipients: Uint8Array[] = []
  for (let i = 0; i < n; i++) {
    const k = r.copy(KEY_BYTES)
    if (i > 0 && compareBytes(recipients[i - 1]!, k) >= 0) throw r.fail('recipients not ascending')
    recipients.push(k)
  }
  const cut = (flags & 2) === 0 ? undefined : readCut(r)
  const withCut = cut === undefined ? {} : { cut }
  if ((flags & 1) === 0) {
    r.end()
    return { recipients, ...withCut }
  }
  const epoch = r.copy(EPOCH_BYTES)
  const wraps: Uint8Array[] = []
  for (let i = 0; i < n; i++) wraps.push(r.copy(WRAP_BYTES))
  const nonce = r.copy(NONCE_BYTES)
  const history = r.copy(r.varUint(MAX_HISTORY_KEYS * (EPOCH_BYTES + ROOM_KEY_BYTES) + TAG_BYTES))
  r.end()
  if (history.length < TAG_BYTES || (history.length - TAG_BYTES) % 48 !== 0)
    throw r.fail('history length')
  return { recipients, ...withCut, keyed: { epoch, wraps, nonce, history } }
}

function readCut(r: ByteReader): RemovalCut[] {
  const m = r.count(MAX_MEMBERS, KEY_BYTES + 1 + HASH_BYTES)
  if (m === 0) throw r.fail('empty cut')
  const cut: RemovalCut[] = []
  for (let i = 0; i < m; i++) {
    const key = r.copy(KEY_BYTES)
    if (i > 0 && compareBytes(cut[i - 1]!.key, key) >= 0) throw r.fail('cut keys not ascending')
    cut.push({ key, seq: r.varUint(MAX_SEQ), hash: r.copy(HASH_BYTES) })
  }
  return cut
}

function writeCut(enc: encoding.Encoder, cut: readonly RemovalCut[]): void {
  const sorted = [...cut].sort((a, b) => compareBytes(a.key, b.key))
  if (sorted.length > MAX_MEMBERS) throw new RangeError('too many removed members')
  encoding.writeVarUint(enc, sorted.length)
  for (const [i, c] of sorted.entries()) {
    if (c.key.length !== KEY_BYTES || c.hash.length !== HASH_BYTES) throw new RangeError('bad cut')
    if (!Number.isInteger(c.seq) || c.seq < 0 || c.seq > MAX_SEQ)
      throw new RangeError('bad cut seq')
    if (i > 0 && equalBytes(sorted[i - 1]!.key, c.key)) throw new RangeError('cut keys repeat')
    encoding.writeUint8Array(enc, c.key)
    encoding.writeVarUint(enc, c.seq)
    encoding.writeUint8Array(enc, c.hash)
  }
}

function wrapKey(
  room: string,
  issuer: Uint8Array,
  epoch: Uint8Array,
  eph: Uint8Array,
  to: Uint8Array,
  shared: Uint8Array,
): Uint8Array {
  const info = new Uint8Array([...te.encode(`parley/e2ee/wrap/1\0${room}\0`), ...epoch, ...issuer])
  return hkdf(sha256, shared, new Uint8Array([...eph, ...to]), info, 32)
}

const ZERO_NONCE = new Uint8Array(NONCE_BYTES)

function historyAad(room: string, epoch: Uint8Array): Uint8Array {
  return new Uint8Array([...te.encode(`parley/e2ee/history/1\0${room}\0`), ...epoch])
}

/** What a new key record says. */
export interface KeyRecordInit {
  room: string
  /** Author key of the record's author. */
  issuer: Uint8Array
  /** The members from now on (author keys; sorted and deduplicated here). */
  recipients: readonly Uint8Array[]
  /** A new epoch, and the older epoch keys to pass on (hex epoch id → key). */
  epoch?: { epoch: Uint8Array; key: Uint8Array; history: ReadonlyMap<string, Uint8Array> }
  /** The members it leaves out, with their chain heads as the issuer holds them. @default none */
  cut?: readonly RemovalCut[]
}

function fromHex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** Encodes a key record, wrapping the epoch key for every recipient. Throws `RangeError` on bad input. */
export function encodeKeyRecord(init: KeyRecordInit): Uint8Array {
  const byHex = new Map(init.recipients.map((k) => [toHex(k), k]))
  const recipients = [...byHex.values()].sort(compareBytes)
  if (recipients.length > MAX_MEMBERS) throw new RangeError('too many members')
  const enc = encoding.createEncoder()
  encoding.writeUint8(enc, KEYS_TAG)
  const cut = init.cut !== undefined && init.cut.length > 0 ? init.cut : undefined
  encoding.writeUint8(enc, (init.epoch === undefined ? 0 : 1) | (cut === undefined ? 0 : 2))
  encoding.writeVarUint(enc, recipients.length)
  for (const k of recipients) {
    if (k.length !== KEY_BYTES) throw new RangeError('recipient keys are 32 bytes')
    encoding.writeUint8Array(enc, k)
  }
  if (cut !== undefined) writeCut(enc, cut)
  if (init.epoch !== undefined) {
    const { epoch, key, history } = init.epoch
    encoding.writeUint8Array(enc, epoch)
    for (const to of recipients) {
      const x = ed25519.utils.toMontgomery(to)
      const ephSecret = x25519.utils.randomSecretKey()
      const eph = x25519.getPublicKey(ephSecret)
      const k = wrapKey(init.room, init.issuer, epoch, eph, x, x25519.getSharedSecret(ephSecret, x))
      encoding.writeUint8Array(enc, eph)
      encoding.writeUint8Array(enc, xchacha20poly1305(k, ZERO_NONCE, to).encrypt(key))
    }
    const older = [...history].filter(([id]) => id !== toHex(epoch)).slice(-MAX_HISTORY_KEYS)
    const plain = new Uint8Array(older.length * 48)
    older.forEach(([id, k], i) => (plain.set(fromHex(id), i * 48), plain.set(k, i * 48 + 16)))
    const nonce = random(NONCE_BYTES)
    encoding.writeUint8Array(enc, nonce)
    const aad = historyAad(init.room, epoch)
    encoding.writeVarUint8Array(enc, xchacha20poly1305(key, nonce, aad).encrypt(plain))
  }
  return encoding.toUint8Array(enc)
}

/**
 * The epoch key a record wraps for `me` (our author key), opened with our device's `agree`;
 * `undefined` if we are not a recipient or the wrap does not open (logged by the caller).
 */
export async function openWrap(
  room: string,
  issuer: Uint8Array,
  record: KeyRecord,
  me: Uint8Array,
  agree: (theirs: Uint8Array) => Promise<Uint8Array>,
): Promise<Uint8Array | undefined> {
  const i = record.recipients.findIndex((r) => equalBytes(r, me))
  if (i < 0 || record.keyed === undefined) return undefined
  const wrap = record.keyed.wraps[i]!
  const eph = wrap.subarray(0, 32)
  try {
    const x = ed25519.utils.toMontgomery(me)
    const k = wrapKey(room, issuer, record.keyed.epoch, eph, x, await agree(eph))
    return xchacha20poly1305(k, ZERO_NONCE, me).decrypt(wrap.subarray(32))
  } catch {
    // a wrap made for another key, a small-order ephemeral key, changed bytes: no key
    return undefined
  }
}

/** The older epoch keys a record passes on (hex epoch id → key). Throws {@link DecryptionError}. */
export function openHistory(
  room: string,
  record: KeyRecord,
  key: Uint8Array,
): Map<string, Uint8Array> {
  const keyed = record.keyed
  if (keyed === undefined) return new Map()
  let plain: Uint8Array
  try {
    plain = xchacha20poly1305(key, keyed.nonce, historyAad(room, keyed.epoch)).decrypt(
      keyed.history,
    )
  } catch (err) {
    throw new DecryptionError('Key history does not open', { cause: err })
  }
  const out = new Map<string, Uint8Array>()
  for (let i = 0; i + 48 <= plain.length; i += 48)
    out.set(toHex(plain.subarray(i, i + 16)), plain.slice(i + 16, i + 48))
  return out
}

export { toHex as epochHex }
