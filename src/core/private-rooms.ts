/**
 * Membership of encrypted rooms (private rooms and dms; src/crdt/e2ee.ts): who is in, and the key
 * records that say so. Adding a member starts a new epoch whose record also hands the new member
 * every older epoch key (it reads the history); removing one starts a new epoch it does not get;
 * leaving writes a record without a key, and the next member who writes starts the new epoch.
 * Only the creator (any device of the creator's user) or an org admin who is a member removes others
 * (src/core/room-key-records.ts).
 */
import { createLogger } from '../net/logger.ts'
import { authorFromId, authorId } from '../crdt/entry.ts'
import { isEncryptedRoom, privateRoomId } from '../crdt/room-ids.ts'
import type { RoomHistory } from './room-history.ts'
import { NotRoomRemoverError, NotRoomMemberError, RoomKeyMissingError } from './room-keys.ts'

const log = createLogger('parley:core:keys')

/** What a new private room needs. */
export interface PrivateRoomInit {
  name: string
  topic?: string
  /** Author ids of the other members (the creator is added). */
  members: readonly string[]
}

/** A new private room id for `creator` and its creation fields (see EncryptedRooms.createPrivateRoom). */
export function newPrivateRoom(
  creator: Uint8Array,
  init: PrivateRoomInit,
): { room: string; members: string[] } {
  const members = [...new Set([authorId(creator), ...init.members])].sort()
  for (const m of members) authorFromId(m) // throws InvalidAuthorIdError for a malformed id
  return { room: privateRoomId(creator), members }
}

function currentMembers(h: RoomHistory): string[] {
  if (!isEncryptedRoom(h.room)) throw new RangeError(`${h.room} is not a private room`)
  const members = h.keys.members()
  if (members === undefined) throw new RoomKeyMissingError(h.room)
  return members
}

/** Adds `authors` to the room in one record: a new epoch for everyone, older keys passed on. */
export async function addMember(
  h: RoomHistory,
  me: Uint8Array,
  authors: string | readonly string[],
): Promise<void> {
  const members = currentMembers(h)
  if (!members.includes(authorId(me))) throw new NotRoomMemberError()
  const added = [...new Set(typeof authors === 'string' ? [authors] : authors)].filter(
    (a) => !members.includes(a),
  )
  if (added.length === 0) return
  const keys = [...members, ...added].map(authorFromId)
  await h.write({ kind: 'members', members: keys, rotate: true })
}

/**
 * Removes `authors` from the room in one record and rotates the key (they never get the new one).
 * Removing ourselves is leaving: a record without a key (a key we made would be one we hold).
 */
export async function removeMember(
  h: RoomHistory,
  me: Uint8Array,
  authors: string | readonly string[],
): Promise<void> {
  const members = currentMembers(h)
  if (!members.includes(authorId(me))) throw new NotRoomMemberError()
  const gone = new Set(typeof authors === 'string' ? [authors] : authors)
  if (!members.some((m) => gone.has(m))) return
  // others (not our own devices) only by the creator or an admin: others' records would not count
  const others = [...gone].filter(
    (a) => members.includes(a) && !h.keys.isOwnDevice(authorFromId(a)),
  )
  if (others.length > 0 && !h.keys.mayRemove(me)) {
    log('refused to remove %d from %s: not its creator nor an admin', others.length, h.room)
    throw new NotRoomRemoverError()
  }
  const rest = members.filter((m) => !gone.has(m)).map(authorFromId)
  await h.write({ kind: 'members', members: rest, rotate: !gone.has(authorId(me)) })
}
