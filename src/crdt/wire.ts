/**
 * The sync frames (docs/architecture.md, "Sync protocol"): pure encode/decode, no I/O.
 *
 * ```
 * requester                                   responder
 *   Digest { room → hash of my heads }  ──▶
 *                                       ◀──   DigestReply { room → hash of its heads }
 *   Pull { room, have: author → seq }   ──▶
 *                                       ◀──   Heads { signed heads }, Entries × n (newest first), End
 *   Push { signed head, entries }       ──▶   (also live, on the room's gossip topic)
 *                                       ◀──   Heads (after ingest: the acknowledgement)
 * ```
 * Layout: `u8 type | u8 WIRE_VERSION | body`, lib0 varuints (canonical) and length-prefixed bytes. Decoding
 * is strict (bounds, no trailing bytes, no duplicates) and throws only {@link MalformedFrameError}.
 */
import * as encoding from 'lib0/encoding'
import { KEY_BYTES, SIG_BYTES } from './crypto.ts'
import { MalformedFrameError } from './errors.ts'
import { MAX_WALL } from './hlc.ts'
import {
  ByteReader,
  HASH_BYTES,
  MAX_ENTRY_BYTES,
  MAX_SEQ,
  META_PERIOD,
  MIN_ENTRY_BYTES,
  isRoomId,
  type SignedHead,
} from './entry.ts'

import {
  MAX_DIGEST_ROOMS,
  MAX_FRAME_BYTES,
  MAX_HEADS,
  WIRE_VERSION,
  type Frame,
  type Presence,
  type PresenceFrame,
  type PresenceStatus,
  type PullFrame,
  type RoomDigest,
} from './wire-frames.ts'

// The frames' shapes and limits, for the codec's users to import with it.
export * from './wire-frames.ts'

const MAX_PEER_BYTES = 128
const MAX_NAME_BYTES = 256
const MAX_MESSAGE_BYTES = 1024
const ERROR_CODE_RE = /^[a-z0-9][a-z0-9-]{0,63}$/
const STATUSES: readonly PresenceStatus[] = ['online', 'away', 'offline']
// Index + 1 is the frame's first byte: append only.
// prettier-ignore
const TYPES: readonly Frame['type'][] = [
  'digest', 'digest-reply', 'pull', 'heads', 'entries', 'end', 'push', 'presence', 'error',
  'announce',
]
const PRESENCE_DOMAIN = new TextEncoder().encode('parley/presence/1\0')
const HEAD_BYTES = KEY_BYTES + 1 + HASH_BYTES + SIG_BYTES // smallest encoded head

const bad = (reason: string): MalformedFrameError =>
  new MalformedFrameError(`Malformed frame: ${reason}`)

function check(ok: boolean, reason: string): void {
  if (!ok) throw bad(reason)
}

/** Writers that refuse what the reader would refuse, so that a peer never sends a frame it would drop. */
const w = {
  uint(enc: encoding.Encoder, n: number, min: number, max: number, what: string): void {
    check(Number.isInteger(n) && n >= min && n <= max, what)
    encoding.writeVarUint(enc, n)
  },
  fixed(enc: encoding.Encoder, b: Uint8Array, len: number, what: string): void {
    check(b.length === len, what)
    encoding.writeUint8Array(enc, b)
  },
  string(enc: encoding.Encoder, s: string, maxBytes: number, what: string): void {
    const b = new TextEncoder().encode(s)
    check(b.length <= maxBytes, what)
    encoding.writeVarUint8Array(enc, b)
  },
  room(enc: encoding.Encoder, room: string): void {
    check(isRoomId(room), 'room')
    encoding.writeVarString(enc, room)
  },
  entries(enc: encoding.Encoder, entries: readonly Uint8Array[]): void {
    encoding.writeVarUint(enc, entries.length)
    for (const e of entries) {
      check(e.length >= MIN_ENTRY_BYTES && e.length <= MAX_ENTRY_BYTES, 'entry size')
      encoding.writeVarUint8Array(enc, e)
    }
  },
  head(enc: encoding.Encoder, room: string, h: SignedHead): void {
    check(h.room === room, 'head room')
    w.fixed(enc, h.author, KEY_BYTES, 'head author')
    w.uint(enc, h.seq, 1, MAX_SEQ, 'head seq')
    w.fixed(enc, h.hash, HASH_BYTES, 'head hash')
    w.fixed(enc, h.sig, SIG_BYTES, 'head sig')
  },
  presenceBody(enc: encoding.Encoder, p: Omit<Presence, 'sig'>): void {
    w.fixed(enc, p.author, KEY_BYTES, 'presence author')
    w.string(enc, p.peer, MAX_PEER_BYTES, 'presence peer')
    w.string(enc, p.name, MAX_NAME_BYTES, 'presence name')
    check(STATUSES.includes(p.status), 'presence status')
    encoding.writeUint8(enc, STATUSES.indexOf(p.status))
    w.uint(enc, p.wall, 0, MAX_WALL, 'presence wall')
    w.uint(enc, p.seq, 0, MAX_SEQ, 'presence seq')
  },
}

/** Throws unless the byte strings `keys(items)` are pairwise distinct. */
function checkUnique<T>(items: readonly T[], key: (item: T) => string, what: string): void {
  const seen = new Set<string>()
  for (const item of items) seen.add(key(item))
  check(seen.size === items.length, `duplicate ${what}`)
}
const hexKey = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')

/** The bytes of `f`. Throws {@link MalformedFrameError} if a field is out of bounds or the frame too large. */
export function encodeFrame(f: Frame): Uint8Array {
  const code = TYPES.indexOf(f.type) + 1
  check(code > 0, 'unknown type')
  const enc = encoding.createEncoder()
  encoding.writeUint8(enc, code)
  encoding.writeUint8(enc, WIRE_VERSION)
  switch (f.type) {
    case 'digest':
    case 'digest-reply':
      if (f.type === 'digest') w.string(enc, f.sender, MAX_PEER_BYTES, 'digest sender')
      check(f.rooms.length <= MAX_DIGEST_ROOMS, 'too many rooms')
      checkUnique(f.rooms, (r) => r.room, 'room')
      encoding.writeVarUint(enc, f.rooms.length)
      for (const r of f.rooms) {
        w.room(enc, r.room)
        w.fixed(enc, r.digest, HASH_BYTES, 'digest')
      }
      break
    case 'announce':
    case 'pull':
      if (f.type === 'announce') w.string(enc, f.sender, MAX_PEER_BYTES, 'announce sender')
      w.room(enc, f.room)
      check(f.have.length <= MAX_HEADS, 'too many authors')
      checkUnique(f.have, (h) => hexKey(h.author), 'author')
      encoding.writeVarUint(enc, f.have.length)
      for (const h of f.have) {
        w.fixed(enc, h.author, KEY_BYTES, 'author')
        w.uint(enc, h.seq, 0, MAX_SEQ, 'seq')
      }
      break
    case 'heads':
      w.room(enc, f.room)
      check(f.heads.length <= MAX_HEADS, 'too many heads')
      checkUnique(f.heads, (h) => hexKey(h.author), 'author')
      encoding.writeVarUint(enc, f.heads.length)
      for (const h of f.heads) w.head(enc, f.room, h)
      break
    case 'entries':
      w.room(enc, f.room)
      w.uint(enc, f.period, 0, META_PERIOD, 'period')
      w.entries(enc, f.entries)
      break
    case 'end':
      w.room(enc, f.room)
      break
    case 'push':
      w.room(enc, f.room)
      w.head(enc, f.room, f.head)
      w.entries(enc, f.entries)
      break
    case 'presence':
      w.presenceBody(enc, f)
      w.fixed(enc, f.sig, SIG_BYTES, 'presence sig')
      break
    case 'error':
      check(ERROR_CODE_RE.test(f.code), 'error code')
      encoding.writeVarString(enc, f.code)
      w.string(enc, f.message, MAX_MESSAGE_BYTES, 'error message')
      break
  }
  check(encoding.length(enc) <= MAX_FRAME_BYTES, 'frame too large')
  return encoding.toUint8Array(enc)
}

function readRoom(r: ByteReader): string {
  const room = r.string(64)
  check(isRoomId(room), 'room')
  return room
}

function readEntries(r: ByteReader): Uint8Array[] {
  const n = r.count(MAX_FRAME_BYTES, MIN_ENTRY_BYTES + 1)
  const entries: Uint8Array[] = []
  for (let i = 0; i < n; i++) {
    const len = r.varUint(MAX_ENTRY_BYTES)
    check(len >= MIN_ENTRY_BYTES, 'entry size')
    entries.push(r.view(len))
  }
  return entries
}

function readHead(r: ByteReader, room: string): SignedHead {
  const author = r.copy(KEY_BYTES)
  const seq = r.varUint(MAX_SEQ)
  check(seq >= 1, 'head seq')
  return { room, author, seq, hash: r.copy(HASH_BYTES), sig: r.copy(SIG_BYTES) }
}

function readPresence(r: ByteReader): PresenceFrame {
  const author = r.copy(KEY_BYTES)
  const peer = r.string(MAX_PEER_BYTES)
  const name = r.string(MAX_NAME_BYTES)
  const status = STATUSES[r.u8()]
  if (status === undefined) throw bad('presence status')
  const wall = r.varUint(MAX_WALL)
  const seq = r.varUint(MAX_SEQ)
  return { type: 'presence', author, peer, name, status, wall, seq, sig: r.copy(SIG_BYTES) }
}

function readBody(r: ByteReader, type: Frame['type']): Frame {
  switch (type) {
    case 'digest':
    case 'digest-reply': {
      const sender = type === 'digest' ? r.string(MAX_PEER_BYTES) : ''
      const n = r.count(MAX_DIGEST_ROOMS, 2 + HASH_BYTES)
      const rooms: RoomDigest[] = []
      for (let i = 0; i < n; i++) rooms.push({ room: readRoom(r), digest: r.copy(HASH_BYTES) })
      checkUnique(rooms, (d) => d.room, 'room')
      return type === 'digest' ? { type, sender, rooms } : { type, rooms }
    }
    case 'announce':
    case 'pull': {
      const sender = type === 'announce' ? r.string(MAX_PEER_BYTES) : ''
      const room = readRoom(r)
      const n = r.count(MAX_HEADS, KEY_BYTES + 1)
      const have: PullFrame['have'] = []
      for (let i = 0; i < n; i++) have.push({ author: r.copy(KEY_BYTES), seq: r.varUint(MAX_SEQ) })
      checkUnique(have, (h) => hexKey(h.author), 'author')
      return type === 'announce' ? { type, sender, room, have } : { type, room, have }
    }
    case 'heads': {
      const room = readRoom(r)
      const n = r.count(MAX_HEADS, HEAD_BYTES)
      const heads: SignedHead[] = []
      for (let i = 0; i < n; i++) heads.push(readHead(r, room))
      checkUnique(heads, (h) => hexKey(h.author), 'author')
      return { type, room, heads }
    }
    case 'entries': {
      const room = readRoom(r)
      const period = r.varUint(META_PERIOD)
      return { type, room, period, entries: readEntries(r) }
    }
    case 'end':
      return { type, room: readRoom(r) }
    case 'push': {
      const room = readRoom(r)
      const head = readHead(r, room)
      return { type, room, head, entries: readEntries(r) }
    }
    case 'presence':
      return readPresence(r)
    case 'error': {
      const code = r.string(64)
      check(ERROR_CODE_RE.test(code), 'error code')
      return { type, code, message: r.string(MAX_MESSAGE_BYTES) }
    }
  }
}

/**
 * Parses untrusted bytes. Throws {@link MalformedFrameError} and nothing else, in time linear in the
 * input, allocating at most a small multiple of its size. Entries are views of `bytes`.
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  check(bytes.length <= MAX_FRAME_BYTES, 'frame too large')
  const r = new ByteReader(bytes, bad)
  const type = TYPES[r.u8() - 1]
  if (type === undefined) throw bad('unknown type')
  check(r.u8() === WIRE_VERSION, 'unknown version')
  const frame = readBody(r, type)
  r.end()
  return frame
}

/** The bytes a presence signature covers: a domain tag, then the frame's fields but `sig`. */
export function presenceMessage(p: Omit<Presence, 'sig'>): Uint8Array {
  const enc = encoding.createEncoder()
  encoding.writeUint8Array(enc, PRESENCE_DOMAIN)
  w.presenceBody(enc, p)
  return encoding.toUint8Array(enc)
}
