/**
 * The people list: the organisation's directory (`sys.people` profiles, with the user-ID conflict
 * rule of src/crdt/directory.ts) joined with signed presence, and who we are in it.
 */
import { resolvePeople, type Person } from '../crdt/directory.ts'
import type { DisplayMessage } from '../crdt/display.ts'
import type { PresenceInfo, PresenceStatus } from './presence.ts'

/** One person as the UI shows them. */
export interface PersonView {
  author: string
  userId: string
  name: string
  status: PresenceStatus
  /** Last time heard from (ms), when known. */
  lastSeen: number | undefined
  self: boolean
  /** Claimed a user ID someone else claimed first. */
  conflict: boolean
}

/**
 * Our standing in the directory: `ok` (our claim holds), `taken` (someone else holds our user ID:
 * choose another), `pending` (not checked with any other peer yet).
 */
export type ClaimState = 'ok' | 'taken' | 'pending'

const rank: Record<PresenceStatus, number> = { online: 0, away: 1, offline: 2 }

export function directoryOf(messages: readonly DisplayMessage[]): Map<string, Person> {
  return resolvePeople(messages.filter((m) => !m.deleted))
}

/** The people list, online first, then by name. */
export function peopleView(
  directory: ReadonlyMap<string, Person>,
  presence: readonly PresenceInfo[],
  lastSeen: Readonly<Record<string, number>>,
  me: string,
): PersonView[] {
  const live = new Map(presence.map((p) => [p.author, p]))
  const out: PersonView[] = []
  for (const p of directory.values()) {
    const seen = live.get(p.author)
    const self = p.author === me
    out.push({
      author: p.author,
      userId: p.userId,
      name: p.name,
      status: self ? (seen?.status ?? 'online') : (seen?.status ?? 'offline'),
      lastSeen: seen?.lastSeen ?? lastSeen[p.author],
      self,
      conflict: p.conflict,
    })
  }
  return out.sort(
    (a, b) =>
      rank[a.status] - rank[b.status] ||
      a.name.localeCompare(b.name) ||
      (a.author < b.author ? -1 : 1),
  )
}

/** Whether `userId` is held in the directory by an author other than `me`. */
export function heldByOther(
  directory: ReadonlyMap<string, Person>,
  userId: string,
  me: string,
  /** Whether an author is another device of our own user (the org's directory says so). */
  ours: (author: string) => boolean = () => false,
): boolean {
  for (const p of directory.values())
    if (p.userId === userId && p.author !== me && !p.conflict && !ours(p.author)) return true
  return false
}
