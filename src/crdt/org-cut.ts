/**
 * A revocation's **cut** (docs/security.md, "Revocation cut"): for each room the revoking admin's
 * peer held, the chain head of every device of the revoked user that it held at that moment. Every
 * peer refuses that device's entries in that room beyond the cut (a higher seq, or another entry
 * at the cut's seq), whatever clock they carry, and keeps those up to it. A room the cut does not
 * name falls back to the clock rule (entries stamped before the revocation count).
 *
 * The cut is its own signed record (kind 8 in src/crdt/org-records.ts) because it may be far larger
 * than a revocation (which admission proofs carry); the revocation names it by its signature
 * (kind 7: a revocation with a cut), so a peer that knows the revocation but not yet its cut
 * refuses every entry of the revoked user until the cut arrives ({@link resolveCuts}: pending).
 *
 * Fields of a cut record, after `org[32] | varstring userId | varuint at | issuer[32]`:
 * `varuint nRooms | (varstring room | varuint nHeads | (key[32] | varuint seq | hash[32] | sig[64]) × nHeads) × nRooms`,
 * rooms in ascending order of their ids, heads in ascending order of their keys (one byte string per
 * cut). A device the room lists no head for had nothing there: all its entries in that room are
 * refused. `sig` is the device's own signature of that head (src/crdt/entry.ts `headMessage`), so
 * every peer can store the cut as the device's head.
 */
import * as encoding from 'lib0/encoding'
import {
  HASH_BYTES,
  MAX_SEQ,
  compareBytes,
  equalBytes,
  isRoomId,
  type ByteReader,
} from './entry.ts'
import { KEY_BYTES, SIG_BYTES } from './crypto.ts'
import { hexOf } from './org-hex.ts'

/** Largest encoded cut record (a revocation's cut that would be larger leaves rooms out). */
export const MAX_CUT_RECORD_BYTES = 32 * 1024
/** Most heads one room of a cut lists (devices of one user). */
export const MAX_CUT_HEADS = 64

/** One device's chain head in one room, as the revoking peer held it. */
export interface CutHead {
  key: Uint8Array
  seq: number
  hash: Uint8Array
  /** The device's signature of `(room, seq, hash)`. */
  sig: Uint8Array
}

export interface CutRoom {
  room: string
  heads: CutHead[]
}

/** The cut record (kind 8). */
export interface RevocationCut {
  kind: 'cut'
  org: Uint8Array
  userId: string
  /** The `at` of the revocation it belongs to. */
  at: number
  issuer: Uint8Array
  rooms: CutRoom[]
  bytes: Uint8Array
  signer: Uint8Array
  sig: Uint8Array
}

const HEAD_MAX_BYTES = KEY_BYTES + 8 + HASH_BYTES + SIG_BYTES
/** Bytes of a cut record besides its rooms (fields, counts, signature), rounded up. */
const CUT_FIXED_BYTES = 2 + KEY_BYTES + 1 + 32 + 8 + KEY_BYTES + 4 + SIG_BYTES

/** Throws (via `bad`) unless the rooms are canonical and within bounds. */
export function checkCutRooms(rooms: readonly CutRoom[], bad: (field: string) => never): void {
  let prev: string | undefined
  for (const r of rooms) {
    if (!isRoomId(r.room) || (prev !== undefined && r.room <= prev)) bad('cut room')
    prev = r.room
    if (r.heads.length > MAX_CUT_HEADS) bad('cut heads')
    let prevKey: Uint8Array | undefined
    for (const h of r.heads) {
      if (h.key.length !== KEY_BYTES || h.hash.length !== HASH_BYTES || h.sig.length !== SIG_BYTES)
        bad('cut head')
      if (prevKey !== undefined && compareBytes(h.key, prevKey) <= 0) bad('cut head order')
      if (!Number.isInteger(h.seq) || h.seq < 1 || h.seq > MAX_SEQ) bad('cut seq')
      prevKey = h.key
    }
  }
}

export function writeCutRooms(e: encoding.Encoder, rooms: readonly CutRoom[]): void {
  encoding.writeVarUint(e, rooms.length)
  for (const r of rooms) {
    encoding.writeVarString(e, r.room)
    encoding.writeVarUint(e, r.heads.length)
    for (const h of r.heads) {
      encoding.writeUint8Array(e, h.key)
      encoding.writeVarUint(e, h.seq)
      encoding.writeUint8Array(e, h.hash)
      encoding.writeUint8Array(e, h.sig)
    }
  }
}

export function readCutRooms(r: ByteReader): CutRoom[] {
  const rooms: CutRoom[] = []
  const n = r.count(MAX_CUT_RECORD_BYTES, 2)
  for (let i = 0; i < n; i++) {
    const room = r.string(64)
    const heads: CutHead[] = []
    const m = r.count(MAX_CUT_HEADS, KEY_BYTES + 1 + HASH_BYTES + SIG_BYTES)
    for (let j = 0; j < m; j++)
      heads.push({
        key: r.copy(KEY_BYTES),
        seq: r.varUint(MAX_SEQ),
        hash: r.copy(HASH_BYTES),
        sig: r.copy(SIG_BYTES),
      })
    rooms.push({ room, heads })
  }
  return rooms
}

/**
 * The canonical rooms of a cut from what a peer holds (room → heads of the user's devices), within
 * {@link MAX_CUT_RECORD_BYTES}: rooms where the user wrote first, then the others, each group in
 * order of room id; `left` names the rooms that did not fit (they keep the clock rule).
 */
export function cutRoomsOf(held: ReadonlyMap<string, readonly CutHead[]>): {
  rooms: CutRoom[]
  left: string[]
} {
  const all = [...held]
    .filter(([room]) => isRoomId(room))
    .map(([room, heads]) => ({
      room,
      heads: [...heads]
        .filter((h) => h.seq >= 1)
        .sort((a, b) => compareBytes(a.key, b.key))
        .slice(0, MAX_CUT_HEADS),
    }))
    .sort((a, b) => (b.heads.length > 0 ? 1 : 0) - (a.heads.length > 0 ? 1 : 0))
  let size = CUT_FIXED_BYTES
  const rooms: CutRoom[] = []
  const left: string[] = []
  for (const r of all) {
    const bytes = 1 + r.room.length + 1 + r.heads.length * HEAD_MAX_BYTES
    if (size + bytes > MAX_CUT_RECORD_BYTES) left.push(r.room)
    else {
      size += bytes
      rooms.push(r)
    }
  }
  rooms.sort((a, b) => (a.room < b.room ? -1 : a.room > b.room ? 1 : 0))
  return { rooms, left }
}

/** Where a revoked user's devices stop in each room a cut names (key hex → head; absent: seq 0). */
export type CutView =
  { pending: true } | { pending: false; rooms: Map<string, Map<string, CutHead>> }

/** What {@link resolveCuts} needs of a revocation. */
export interface CutRevocation {
  userId: string
  at: number
  issuer: Uint8Array
  /** The signature of its cut record, if it has one. */
  cut?: Uint8Array
}

/**
 * The cut of each revoked user, from the revocations that count (`revocations`) and every cut
 * record known. A revocation's cut counts if a cut record of the same user, issuer and `at` carries
 * the signature it names. A user with a revocation whose cut is not here is `pending`. Cuts of
 * several revocations merge: a room named by any; in it the lowest head of each device (none if
 * one of them lists none), so the verdict is the same on every peer.
 */
export function resolveCuts(
  revocations: readonly CutRevocation[],
  cuts: readonly RevocationCut[],
): Map<string, CutView> {
  const bySig = new Map(cuts.map((c) => [hexOf(c.sig), c]))
  const out = new Map<string, CutView>()
  const found = new Map<string, RevocationCut[]>()
  for (const rev of revocations) {
    if (rev.cut === undefined) continue
    const c = bySig.get(hexOf(rev.cut))
    const ok =
      c !== undefined &&
      c.userId === rev.userId &&
      c.at === rev.at &&
      equalBytes(c.issuer, rev.issuer)
    if (!ok) out.set(rev.userId, { pending: true })
    if (out.get(rev.userId)?.pending === true) continue
    const list = found.get(rev.userId) ?? []
    list.push(c!)
    found.set(rev.userId, list)
  }
  for (const [userId, list] of found) {
    if (out.get(userId)?.pending === true) continue
    out.set(userId, { pending: false, rooms: mergeCuts(list) })
  }
  return out
}

function mergeCuts(list: readonly RevocationCut[]): Map<string, Map<string, CutHead>> {
  const rooms = new Map<string, Map<string, CutHead>>()
  const listed = new Map<string, number>()
  for (const c of list) for (const r of c.rooms) listed.set(r.room, (listed.get(r.room) ?? 0) + 1)
  for (const [room, times] of listed) {
    const heads = new Map<string, { head: CutHead; times: number }>()
    for (const c of list)
      for (const h of c.rooms.find((r) => r.room === room)?.heads ?? []) {
        const k = hexOf(h.key)
        const had = heads.get(k)
        const lower =
          had === undefined ||
          h.seq < had.head.seq ||
          (h.seq === had.head.seq && compareBytes(h.hash, had.head.hash) < 0)
        heads.set(k, { head: lower ? h : had.head, times: (had?.times ?? 0) + 1 })
      }
    const merged = new Map<string, CutHead>()
    for (const [k, { head, times: n }] of heads) if (n === times) merged.set(k, head)
    rooms.set(room, merged)
  }
  return rooms
}
