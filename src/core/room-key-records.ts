/**
 * Which key records of an encrypted room count (src/crdt/e2ee.ts has the formats), the same on every
 * peer, member or not: records in order of `(clock, author, seq)`; the first one counts if
 * {@link mayFoundIn} allows it (the creator the room id names; in a dm, the two members the id names;
 * in a room of users, devices of the users the id names), every later one if its author is a member
 * by the records before it. The members are the recipients of the last record that counts. A sealed
 * entry opens only under an epoch started by a record that counts, and only if its author is one of
 * that epoch's recipients.
 *
 * Rooms of users (`dm.u.…`, {@link userRoomId}: a dm between two users, a user's account room) need
 * the org's directory: a record counts only if its author and every recipient are certified for
 * the users the room's id names (the first record's recipients must be exactly those users'
 * devices), so every device of either user may be a member and write its records, and no one
 * else — like a dm of two keys, where either member's record counts. A dm of two device keys
 * (`dm.…`, the older kind) counts any record naming exactly its two keys, as before, and with the
 * directory also records by devices of its two users naming devices of those users only (a linked
 * device gets the dm's keys, and its history, as it gets a private room's).
 *
 * With the org's directory (src/core/room-directory.ts) a record also needs its author to hold a
 * valid certificate at the record's time, and every recipient to hold a certificate (a record
 * wrapping a key for a key the org never certified is refused, logged); recipients whose
 * certificate was not valid at the record's time (revoked, expired) are left out of the members.
 * Members whose certificate is no longer valid now make the room due for a rotation
 * (`RoomKeys.due`): the next write, or the rotator (src/core/key-rotation.ts), starts an
 * epoch wrapped only for the members still valid. Of concurrent records the one last in
 * `(clock, author, seq)` order holds the current epoch, on every peer alike.
 *
 * Only the creator (any device of the creator's user) or an org admin removes others: a record
 * leaving out a member who is neither its author's own device nor revoked or expired at its time
 * does not count when another member wrote it, unless that member's user was an admin of the org at
 * the record's time ({@link mayRemoveAt}; a later demotion does not undo it). Like every record, a
 * removal counts only if its author is a member: an admin who is not one cannot remove anyone (it
 * holds no key to start the epoch the removal needs). Leaving (one's own devices) and adding are
 * every member's.
 *
 * Removal is final for writing too: a removed member still holds the older epoch keys, so an entry
 * it seals under one of them is refused if a record that counts and left it out comes before the
 * entry's clock ({@link memberWhen}; issue #4: "updates from non-members are rejected").
 */
import { createLogger } from '../net/logger.ts'
import { authorId } from '../crdt/entry.ts'
import { compareHlc } from '../crdt/hlc.ts'
import { epochHex, type KeyRecord } from '../crdt/e2ee.ts'
import { DM_PREFIX, isUserRoom, mayFound, userRoomId } from '../crdt/room-ids.ts'
import { hex } from './store.ts'
import type { RoomDirectory } from './room-directory.ts'

const log = createLogger('parley:core:keys')

/** A key record and where it sits. */
export interface RecordAt {
  author: Uint8Array
  seq: number
  wall: number
  count: number
  record: KeyRecord
  /** `hex(author):seq`. */
  id: string
}

export interface Resolved {
  /** hex author keys; undefined before the first record that counts. */
  members: Set<string> | undefined
  /** hex → key, of every member. */
  keyOf: Map<string, Uint8Array>
  /** Epochs started by records that count: epoch hex → its recipients (hex) and record. */
  epochs: Map<string, { recipients: Set<string>; at: RecordAt }>
  /** The newest epoch. */
  current: string | undefined
  /** Every record that counts, in order, with the members from it on. */
  timeline: { at: RecordAt; members: Set<string> }[]
  /** The author of the first record that counts (the creator the room's id names). */
  creator: Uint8Array | undefined
}

/** The members and epochs `records` define (see the module comment). */
export function resolveRecords(
  room: string,
  records: Iterable<RecordAt>,
  dir: RoomDirectory | undefined,
): Resolved {
  const sorted = [...records].sort(
    (a, b) => compareHlc(a, b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || a.seq - b.seq,
  )
  const dm = isDeviceDm(room)
  const keyOf = new Map<string, Uint8Array>()
  let members: Set<string> | undefined
  const epochs = new Map<string, { recipients: Set<string>; at: RecordAt }>()
  let current: string | undefined
  const timeline: Resolved['timeline'] = []
  /** The author of the first record that counts: the creator the private room's id names. */
  let creator: Uint8Array | undefined
  // the users of a dm of device keys or of a room of users, from the record that founded it
  let users: Set<string> | undefined
  for (const at of sorted) {
    const { author, record } = at
    // a device of one of the dm's users, naming only devices of its users
    const ofUsers = (): boolean =>
      dir !== undefined &&
      users !== undefined &&
      users.has(dir.userOf(author) ?? '') &&
      record.recipients.every((k) => users!.has(dir.userOf(k) ?? ''))
    const counts =
      (members === undefined
        ? mayFoundIn(room, author, record.recipients, dir)
        : dm
          ? mayFound(room, author, record.recipients) || ofUsers()
          : isUserRoom(room)
            ? ofUsers()
            : members.has(hex(author))) &&
      (dir === undefined || dir.validAt(author, at.wall))
    if (!counts) {
      log('key record %s in %s does not count (author not a member)', at.id.slice(0, 8), room)
      continue
    }
    const recipients = dir === undefined ? record.recipients : certified(dir, at, room)
    if (recipients === undefined) continue
    if (members === undefined && dir !== undefined) users = usersOf(dir, record.recipients)
    if (!dm && !isUserRoom(room) && members !== undefined && creator !== undefined) {
      const gone = removedOthers(members, recipients, at, keyOf, dir)
      if (gone > 0 && !mayRemoveAt(author, at.wall, creator, dir)) {
        log.error(
          'key record %s in %s does not count (removes %d, not by the creator or an admin)',
          at.id.slice(0, 8),
          room,
          gone,
        )
        continue
      }
    }
    creator ??= author
    for (const k of recipients) keyOf.set(hex(k), k)
    members = new Set(recipients.map(hex))
    timeline.push({ at, members })
    if (record.keyed !== undefined) {
      const e = epochHex(record.keyed.epoch)
      if (!epochs.has(e)) epochs.set(e, { recipients: members, at })
      current = e
    }
  }
  return { members, keyOf, epochs, current, timeline, creator }
}

/**
 * Whether `key` may remove other members of a private room at `wall` (ms): a device of the user of
 * `creator` (the room's first record's author), or of a user who is an admin of the org then.
 */
export function mayRemoveAt(
  key: Uint8Array,
  wall: number,
  creator: Uint8Array,
  dir: RoomDirectory | undefined,
): boolean {
  return sameUser(key, creator, dir) || dir?.isAdminAt(key, wall) === true
}

/** Whether keys `a` and `b` are one user's devices (the same key, without the org's directory). */
export function sameUser(a: Uint8Array, b: Uint8Array, dir: RoomDirectory | undefined): boolean {
  if (hex(a) === hex(b)) return true
  const user = dir?.userOf(a)
  return user !== undefined && user === dir?.userOf(b)
}

/**
 * How many members of `before` (hex) the record `at` leaves out who are neither its author's own
 * devices nor keys whose certificate was no longer valid at its time (revoked, expired: rotating
 * them out is every member's job).
 */
function removedOthers(
  before: Set<string>,
  recipients: readonly Uint8Array[],
  at: RecordAt,
  keyOf: Map<string, Uint8Array>,
  dir: RoomDirectory | undefined,
): number {
  const kept = new Set(recipients.map(hex))
  let gone = 0
  for (const h of before) {
    const k = keyOf.get(h)
    if (kept.has(h) || k === undefined || sameUser(k, at.author, dir)) continue
    if (dir !== undefined && !dir.validAt(k, at.wall)) continue
    gone++
  }
  return gone
}

/** Whether `room` is a dm of two device keys (the older kind of dm, not a room of users). */
export const isDeviceDm = (room: string): boolean => room.startsWith(DM_PREFIX) && !isUserRoom(room)

/** The user ids of `keys`; undefined if one of them is certified for no user. */
function usersOf(dir: RoomDirectory, keys: readonly Uint8Array[]): Set<string> | undefined {
  const out = new Set<string>()
  for (const k of keys) {
    const u = dir.userOf(k)
    if (u === undefined) return undefined
    out.add(u)
  }
  return out
}

/**
 * Whether a key record by `issuer` naming `recipients` may be the first of `room`: in a room of
 * users, the issuer is among the recipients and the recipients are certified for exactly the users
 * the id names (the org's directory is needed); else {@link mayFound}.
 */
export function mayFoundIn(
  room: string,
  issuer: Uint8Array,
  recipients: readonly Uint8Array[],
  dir: RoomDirectory | undefined,
): boolean {
  if (!isUserRoom(room)) return mayFound(room, issuer, recipients)
  if (dir === undefined || !recipients.some((k) => hex(k) === hex(issuer))) return false
  const users = usersOf(dir, recipients)
  return users !== undefined && users.size <= 2 && userRoomId([...users]) === room
}

/**
 * Whether `author` (hex) was a member at `hlc` by the last record that counts before it; true
 * before the first record (the creator's first entries come before the record that closes their
 * batch). Entries concurrent with a removal, clocked after it, are refused on every peer alike.
 */
export function memberWhen(
  timeline: Resolved['timeline'],
  author: string,
  hlc: { wall: number; count: number },
): boolean {
  for (let i = timeline.length - 1; i >= 0; i--) {
    const t = timeline[i]!
    if (compareHlc(t.at, hlc) < 0) return t.members.has(author)
  }
  return true
}

/**
 * The recipients of a record who count as members, judged by the org's directory at the record's
 * time; undefined (the record does not count) if it names a key the org never certified.
 */
function certified(dir: RoomDirectory, at: RecordAt, room: string): Uint8Array[] | undefined {
  const out: Uint8Array[] = []
  for (const k of at.record.recipients) {
    if (!dir.known(k)) {
      log.error(
        'key record %s in %s refused: it names %s, not a member of the org',
        at.id.slice(0, 8),
        room,
        authorId(k),
      )
      return undefined
    }
    if (dir.validAt(k, at.wall)) out.push(k)
    else
      log(
        'key record %s in %s: %s left out (certificate not valid then)',
        at.id.slice(0, 8),
        room,
        authorId(k),
      )
  }
  return out
}
