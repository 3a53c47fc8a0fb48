/**
 * Records of a room's meta document (`meta` map, see ./schema.ts) and how readers resolve them.
 *
 * Keys are `<field>/<authorId>`: every author writes only its own, so concurrent changes never
 * reference each other's items. `name` and `topic` resolve to the value with the greatest clock
 * `(wall, count, author)` over all authors. `created` is the creation record: an author may write it
 * only in its first entry of the room (seq 1, checked by ./validate.ts), and the earliest one wins.
 * This is a convention between honest peers, not access control: whoever holds a key can write a
 * seq-1 entry claiming an early clock; membership is enforced above this layer.
 */
import { compareHlc, isHlc, type Hlc } from './hlc.ts'
import { hasClock, hasKeys, isAuthorId, isAuthorSet, wellFormed } from './guards.ts'
import { InvalidRecordError } from './errors.ts'

/** Version of the record shapes, stored in each room's creation record. */
export const SCHEMA_VERSION = 1
/** Longest room name, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 80
/** Longest room topic, in UTF-16 code units. */
export const MAX_TOPIC_LENGTH = 250
/** Most members of a private room. */
export const MAX_MEMBERS = 1024

/** Public rooms are open; private rooms and dms list their members. */
export type RoomKind = 'public' | 'private' | 'dm'

/** A room's metadata as readers see it, resolved from the `meta` map. */
export interface RoomMeta {
  name: string
  topic: string
  kind: RoomKind
  /** Author ids allowed in a private room or dm; absent for public rooms. */
  members?: readonly string[]
  createdBy: string
  createdWall: number
  schemaVersion: number
}

/** `name/<a>` and `topic/<a>`: author `a`'s latest value, ordered across authors by its clock. */
export interface MetaText extends Hlc {
  value: string
}
/** `created/<a>`: author `a` created the room (written in `a`'s first entry of the room only). */
export interface MetaCreated extends Hlc {
  kind: RoomKind
  members?: readonly string[]
  version: number
}
/** The fields of `meta` keys. */
export type MetaField = 'name' | 'topic' | 'created'
/** A value of the `meta` map. */
export type MetaValue = MetaText | MetaCreated

/** The `meta` key of `authorId`'s `field`. */
export const metaKey = (field: MetaField, authorId: string): string => `${field}/${authorId}`

/** Splits a `meta` key into field and author; `undefined` if it is not one. */
export function parseMetaKey(key: string): { field: MetaField; author: string } | undefined {
  const [field, author, ...rest] = key.split('/')
  if (rest.length > 0 || !isAuthorId(author)) return undefined
  return field === 'name' || field === 'topic' || field === 'created'
    ? { field, author }
    : undefined
}

/**
 * Whether `value` may be stored under `meta` key `key`: name ≤ {@link MAX_NAME_LENGTH}, topic ≤
 * {@link MAX_TOPIC_LENGTH}; a creation record's members are distinct author ids including its author
 * (the key's): none for a public room, exactly two for a dm, at most {@link MAX_MEMBERS} otherwise.
 */
export function isMetaValue(key: string, value: unknown): value is MetaValue {
  const k = parseMetaKey(key)
  if (k?.field === 'name' || k?.field === 'topic') {
    const max = k.field === 'name' ? MAX_NAME_LENGTH : MAX_TOPIC_LENGTH
    const ok = hasKeys(value, ['value', 'wall', 'count'])
    return ok && typeof value.value === 'string' && value.value.length <= max && hasClock(value)
  }
  if (k === undefined || !hasKeys(value, ['kind', 'version', 'wall', 'count'], 'members'))
    return false
  const { kind, version } = value
  const members = 'members' in value ? value.members : undefined
  const ok = typeof version === 'number' && Number.isSafeInteger(version) && version >= 1
  if (!ok || !hasClock(value)) return false
  if (kind === 'public') return members === undefined
  const max = kind === 'dm' ? 2 : kind === 'private' ? MAX_MEMBERS : 0
  return (
    isAuthorSet(members, max) &&
    members.includes(k.author) &&
    (kind !== 'dm' || members.length === 2)
  )
}

/** Orders `(clock, author)` pairs: by clock, then author id. */
function compareAt(a: Hlc, aAuthor: string, b: Hlc, bAuthor: string): number {
  return compareHlc(a, b) || (aAuthor < bAuthor ? -1 : aAuthor > bAuthor ? 1 : 0)
}

/**
 * The room's metadata from the `meta` map's entries; `undefined` until a creation record is in.
 * Entries that fail {@link isMetaValue} are skipped, and in a private room or dm so are names and
 * topics set by non-members.
 */
export function resolveMeta(entries: Iterable<[string, unknown]>): RoomMeta | undefined {
  let created: { author: string; v: MetaCreated } | undefined
  const texts: { field: MetaField; author: string; v: MetaText }[] = []
  for (const [key, v] of entries) {
    const k = parseMetaKey(key)
    if (k === undefined || !isMetaValue(key, v)) continue
    if ('value' in v) texts.push({ field: k.field, author: k.author, v })
    else if (created === undefined || compareAt(v, k.author, created.v, created.author) < 0) {
      created = { author: k.author, v }
    }
  }
  if (created === undefined) return undefined
  const { kind, members, version, wall } = created.v
  const latest: Partial<Record<MetaField, { author: string; v: MetaText }>> = {}
  for (const t of texts) {
    if (members !== undefined && !members.includes(t.author)) continue
    const cur = latest[t.field]
    if (cur === undefined || compareAt(t.v, t.author, cur.v, cur.author) > 0) latest[t.field] = t
  }
  const meta: RoomMeta = {
    name: latest.name?.v.value ?? '',
    topic: latest.topic?.v.value ?? '',
    kind,
    createdBy: created.author,
    createdWall: wall,
    schemaVersion: version,
  }
  if (members !== undefined) meta.members = members
  return meta
}

/** What a room's metadata write may set. `kind` (and `members`) create the room. */
export interface MetaFields {
  name?: string
  topic?: string
  kind?: RoomKind
  members?: readonly string[]
}

/**
 * The `meta` entries that set `fields` for `authorId` writing entry `seq` at `hlc`. Throws
 * {@link InvalidRecordError} if they would not be valid: `kind` outside the first entry, `members`
 * without `kind`, a name or topic too long, nothing to set.
 */
export function metaWrites(
  authorId: string,
  seq: number,
  fields: MetaFields,
  hlc: Hlc,
): [string, MetaValue][] {
  if (!isHlc(hlc)) throw new InvalidRecordError('Invalid clock')
  const { wall, count } = hlc
  const writes: [string, MetaValue][] = []
  if (fields.kind !== undefined) {
    if (seq !== 1) throw new InvalidRecordError('Only an author’s first entry creates a room')
    const members = fields.members === undefined ? {} : { members: [...fields.members] }
    const created = { kind: fields.kind, ...members, version: SCHEMA_VERSION, wall, count }
    writes.push([metaKey('created', authorId), created])
  } else if (fields.members !== undefined) {
    throw new InvalidRecordError('Members are set when the room is created')
  }
  for (const field of ['name', 'topic'] as const) {
    const value = fields[field]
    if (value !== undefined) {
      writes.push([metaKey(field, authorId), { value: wellFormed(value), wall, count }])
    }
  }
  for (const [key, value] of writes) {
    if (!isMetaValue(key, value)) throw new InvalidRecordError(`Invalid ${key}`)
  }
  if (writes.length === 0) throw new InvalidRecordError('Nothing to set')
  return writes
}
