/**
 * The organisation's directory: records posted as messages (JSON text) in two reserved rooms that
 * every peer holds. `sys.people` holds profiles (which user ID and display name an author key
 * claims); `sys.rooms` lists public rooms and announces direct-message rooms to their members.
 * They ride on the ordinary signed chains, sync and validation; these guards decide which message
 * texts are records, and {@link resolvePeople} applies the conflict rule.
 *
 * Conflict rule for user IDs ("detect and resolve, don't silently merge"): an author's current
 * claim is its latest profile record; the claim's time is the clock of that author's first record
 * with that user ID. Among authors currently claiming the same user ID, the earliest claim wins (ties
 * by author id); every other claimant is told it lost and must choose another ID.
 */
import { compareHlc, type Hlc } from './hlc.ts'
import { hasKeys, isAuthorSet } from './guards.ts'
import { isRoomId } from './entry.ts'
import { MAX_NAME_LENGTH, MAX_TOPIC_LENGTH } from './meta.ts'
import { PRIVATE_PREFIX } from './room-ids.ts'

/** Room of profile records. */
export const PEOPLE_ROOM = 'sys.people'
/** Room of public-room listings and dm announcements. */
export const ROOMS_ROOM = 'sys.rooms'
/** Rooms whose id starts with this are the system's, not chat rooms. */
export const SYSTEM_ROOM_PREFIX = 'sys.'

/** User IDs: lowercase letters, digits, `.`, `_`, `-`; 2–32 characters, starting with a letter. */
export const USER_ID_RE = /^[a-z][a-z0-9._-]{1,31}$/
/** Longest display name, in UTF-16 code units. */
export const MAX_DISPLAY_NAME = 64

export const isUserId = (v: unknown): v is string => typeof v === 'string' && USER_ID_RE.test(v)

const isDisplayName = (v: unknown): v is string =>
  typeof v === 'string' && v.trim().length > 0 && v.length <= MAX_DISPLAY_NAME

/** `sys.people`: the author's user ID and display name. */
export interface ProfileRecord {
  t: 'profile'
  userId: string
  name: string
}
/** `sys.rooms`: a public room exists (its current name and topic live in the room's meta). */
export interface RoomListing {
  t: 'room'
  id: string
  name: string
  topic: string
}
/** `sys.rooms`: a direct-message room between `members` (two author ids). */
export interface DmNotice {
  t: 'dm'
  id: string
  members: string[]
}
/**
 * `sys.rooms`: `members` (author ids) were added to the private room `id`, whose browsers join it by
 * themselves. Only a hint: who is a member, and who holds its keys, is the room's key records'
 * business (src/core/room-keys.ts); the notice tells no name or topic (those are sealed).
 */
export interface PrivateNotice {
  t: 'private'
  id: string
  members: string[]
}
/** Most author ids one private-room notice names (a notice stays well under 4 KiB). */
export const MAX_NOTICE_MEMBERS = 32
export type DirectoryRecord = ProfileRecord | RoomListing | DmNotice | PrivateNotice

/** Whether `v` is a well-formed directory record. */
export function isDirectoryRecord(v: unknown): v is DirectoryRecord {
  if (hasKeys(v, ['t', 'userId', 'name']))
    return v.t === 'profile' && isUserId(v.userId) && isDisplayName(v.name)
  if (hasKeys(v, ['t', 'id', 'name', 'topic']))
    return (
      v.t === 'room' &&
      isRoomId(v.id) &&
      !v.id.startsWith(SYSTEM_ROOM_PREFIX) &&
      typeof v.name === 'string' &&
      v.name.length <= MAX_NAME_LENGTH &&
      typeof v.topic === 'string' &&
      v.topic.length <= MAX_TOPIC_LENGTH
    )
  if (hasKeys(v, ['t', 'id', 'members'])) {
    if (v.t === 'private')
      return (
        isRoomId(v.id) &&
        v.id.startsWith(PRIVATE_PREFIX) &&
        isAuthorSet(v.members, MAX_NOTICE_MEMBERS) &&
        v.members.length > 0
      )
    return v.t === 'dm' && isRoomId(v.id) && isAuthorSet(v.members, 2) && v.members.length === 2
  }
  return false
}

/** The message text of a record. */
export const encodeRecord = (r: DirectoryRecord): string => JSON.stringify(r)

/** The record in a message text, or `undefined` if it is none (never throws). */
export function decodeRecord(text: string): DirectoryRecord | undefined {
  if (text.length > 4096) return undefined
  try {
    const v: unknown = JSON.parse(text)
    return isDirectoryRecord(v) ? v : undefined
  } catch {
    // not JSON: an ordinary message someone posted here, ignored
    return undefined
  }
}

/** A message of a directory room, as the resolvers need it. */
export interface PostedText extends Hlc {
  author: string
  text: string
}

/** One author in the directory. */
export interface Person {
  author: string
  userId: string
  name: string
  /** When this author first claimed `userId`. */
  claimed: Hlc
  /** Another author claimed `userId` first: this one must choose another. */
  conflict: boolean
}

const byClock = (a: PostedText, b: PostedText): number =>
  compareHlc(a, b) || (a.author < b.author ? -1 : a.author > b.author ? 1 : 0)

/** Everyone's current profile, with the conflict rule applied (see the module comment). */
export function resolvePeople(messages: Iterable<PostedText>): Map<string, Person> {
  const sorted = [...messages].sort(byClock)
  const people = new Map<string, Person>()
  for (const m of sorted) {
    const r = decodeRecord(m.text)
    if (r?.t !== 'profile') continue
    const cur = people.get(m.author)
    const claimed = cur?.userId === r.userId ? cur.claimed : { wall: m.wall, count: m.count }
    people.set(m.author, {
      author: m.author,
      userId: r.userId,
      name: r.name,
      claimed,
      conflict: false,
    })
  }
  const winners = new Map<string, Person>()
  for (const p of people.values()) {
    const w = winners.get(p.userId)
    const earlier =
      w === undefined ||
      compareHlc(p.claimed, w.claimed) < 0 ||
      (compareHlc(p.claimed, w.claimed) === 0 && p.author < w.author)
    if (earlier) winners.set(p.userId, p)
  }
  for (const p of people.values()) p.conflict = winners.get(p.userId) !== p
  return people
}

/**
 * Public rooms listed in `sys.rooms` (latest listing per room id), dm rooms per member, and the
 * private rooms each author id was added to (by private notices).
 */
export function resolveRooms(messages: Iterable<PostedText>): {
  rooms: Map<string, RoomListing>
  dms: Map<string, DmNotice>
  invited: Map<string, Set<string>>
} {
  const rooms = new Map<string, RoomListing>()
  const dms = new Map<string, DmNotice>()
  const invited = new Map<string, Set<string>>()
  for (const m of [...messages].sort(byClock)) {
    const r = decodeRecord(m.text)
    if (r?.t === 'room') rooms.set(r.id, r)
    else if (r?.t === 'dm' && r.members.includes(m.author) && !dms.has(r.id)) dms.set(r.id, r)
    else if (r?.t === 'private')
      for (const a of r.members) {
        const set = invited.get(a) ?? new Set<string>()
        invited.set(a, set.add(r.id))
      }
  }
  return { rooms, dms, invited }
}
