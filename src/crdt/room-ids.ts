/**
 * Room ids of end-to-end encrypted rooms (src/crdt/e2ee.ts): a room is encrypted by its id, so every
 * peer, member or not, knows without reading anything — `dm.<…>` for direct messages (of two device
 * keys, or `dm.u.<…>` of users), `p.<…>` for private rooms, whose id names its creator.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { authorId, equalBytes } from './entry.ts'

const te = new TextEncoder()
const HEX = /^[0-9a-f]+$/

/** Lowercase hex of `b`. */
export function toHex(b: Uint8Array): string {
  let s = ''
  for (const x of b) s += x.toString(16).padStart(2, '0')
  return s
}

/** Prefix of direct-message room ids. */
export const DM_PREFIX = 'dm.'
/** Prefix of private room ids. */
export const PRIVATE_PREFIX = 'p.'
/**
 * Prefix of the rooms of users rather than device keys (a dm between two users, or one user's own
 * account room): every certified device of those users is a member (src/core/room-key-records.ts).
 */
export const USER_ROOM_PREFIX = 'dm.u.'

/** Whether entries of `room` are end-to-end encrypted (a dm or a private room). */
export function isEncryptedRoom(room: string): boolean {
  return room.startsWith(DM_PREFIX) || room.startsWith(PRIVATE_PREFIX)
}

/** The room id of the dm between two author ids: `dm.` + 32 hex of sha256 of the sorted ids. */
export function dmRoomId(a: string, b: string): string {
  const members = [a, b].sort()
  return `${DM_PREFIX}${toHex(sha256(te.encode(members.join('\0')))).slice(0, 32)}`
}

/** Whether `room` is a room of users ({@link userRoomId}), not of two device keys. */
export const isUserRoom = (room: string): boolean => room.startsWith(USER_ROOM_PREFIX)

/**
 * The room of the users `userIds` (two for a dm between two people, one for a user's own account
 * room): `dm.u.` + 32 hex of sha256 of the sorted distinct ids. Every device of each of them is a
 * member, so a dm started from any device of either user is the same room.
 */
export function userRoomId(userIds: readonly string[]): string {
  const users = [...new Set(userIds)].sort()
  const digest = sha256(te.encode(`parley/e2ee/users/1\0${users.join('\0')}`))
  return `${USER_ROOM_PREFIX}${toHex(digest).slice(0, 32)}`
}

/**
 * A fresh private room id of creator `creator` (an author key): `p.` + 40 hex of sha256(creator) +
 * `.` + 12 random hex. The id names its creator, so only the creator can start its first epoch.
 */
export function privateRoomId(creator: Uint8Array): string {
  const salt = toHex(crypto.getRandomValues(new Uint8Array(6)))
  return `${PRIVATE_PREFIX}${toHex(sha256(creator)).slice(0, 40)}.${salt}`
}

/**
 * Whether a key record by `issuer` naming `recipients` may be the room's first (private rooms: only
 * the creator the id names, among the recipients) or, in a dm, any record (the two members the id
 * names, both recipients). Other records need their issuer to be a member already (room-keys.ts).
 */
export function mayFound(
  room: string,
  issuer: Uint8Array,
  recipients: readonly Uint8Array[],
): boolean {
  const has = (k: Uint8Array): boolean => recipients.some((r) => equalBytes(r, k))
  if (room.startsWith(DM_PREFIX)) {
    if (recipients.length !== 2 || !has(issuer)) return false
    return dmRoomId(authorId(recipients[0]!), authorId(recipients[1]!)) === room
  }
  const [, hash] = room.split('.')
  return (
    room.startsWith(PRIVATE_PREFIX) &&
    hash?.length === 40 &&
    HEX.test(hash) &&
    toHex(sha256(issuer)).slice(0, 40) === hash &&
    has(issuer)
  )
}
