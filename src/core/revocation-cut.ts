/**
 * Revocation cuts on this peer (src/crdt/org-cut.ts has the record): the verdict on one entry of a
 * revoked user's device, and the cut an admin's peer makes when it revokes someone — the heads of
 * the user's devices in every room its store holds.
 *
 * An entry in a room the cut names is judged by its place in its chain, not by its clock: beyond
 * the cut's head (a higher seq, or another entry at its seq) it is refused
 * ({@link BeyondRevocationCutError}), up to it it counts if the device's certificate was valid at
 * the entry's time (the revocation aside). A revocation whose cut this peer does not hold yet
 * refuses every entry of the user ({@link RevocationCutPendingError}) until it arrives. Rooms the
 * cut does not name keep the clock rule (`Org.refusal`).
 */
import { ZERO_HASH, equalBytes } from '../crdt/entry.ts'
import { hexOf } from '../crdt/org-hex.ts'
import type { OrgView } from '../crdt/org-state.ts'
import type { CutHead } from '../crdt/org-cut.ts'
import type { HistoryStore, StoredHead } from './store.ts'

/** An entry of a revoked user's device beyond the revocation's cut of its room. */
export class BeyondRevocationCutError extends Error {
  static override readonly name = 'BeyondRevocationCutError'
  /** Another entry than the cut's at the cut's seq (not just a later one). */
  readonly fork: boolean
  /** `who`: the revoked user's id, or the device's author id. */
  constructor(who: string, room: string, seq: number, cutSeq: number, fork: boolean) {
    super(
      fork
        ? `revoked (${who}): entry ${seq} in ${room} is not the one the revocation cut holds`
        : `revoked (${who}): entry ${seq} in ${room} is beyond the revocation cut (seq ${cutSeq})`,
    )
    this.name = 'BeyondRevocationCutError'
    this.fork = fork
  }
}

/** An entry of a user revoked with a cut this peer does not hold yet. */
export class RevocationCutPendingError extends Error {
  static override readonly name = 'RevocationCutPendingError'
  constructor(userId: string) {
    super(`revoked (${userId}): its revocation cut has not arrived yet`)
    this.name = 'RevocationCutPendingError'
  }
}

/**
 * Where `author` stops in `room`: its cut head (seq 0: nothing of it counts), `'pending'`, or
 * undefined when no cut applies (not revoked, revoked without a cut, or a room the cut does not name).
 */
export function cutOf(
  view: OrgView,
  room: string,
  author: Uint8Array,
): CutHead | 'pending' | undefined {
  const key = hexOf(author)
  const userId = view.byKey.get(key)
  if (userId === undefined || view.members.get(userId)?.revokedAt === undefined) return undefined
  const cut = view.cuts.get(userId)
  if (cut === undefined) return undefined
  if (cut.pending) return 'pending'
  const heads = cut.rooms.get(room)
  if (heads === undefined) return undefined
  return heads.get(key) ?? { key: author, seq: 0, hash: ZERO_HASH, sig: new Uint8Array(64) }
}

/**
 * Why an entry of a revoked user's device must be refused by its cut; `'clock'` when no cut
 * applies (the caller uses the clock rule), undefined when it counts (up to the cut).
 */
export function cutRefusal(
  view: OrgView,
  room: string,
  entry: { author: Uint8Array; seq: number; hlc: { wall: number } },
  hash: Uint8Array,
): Error | string | 'clock' | undefined {
  const cut = cutOf(view, room, entry.author)
  if (cut === undefined) return 'clock'
  const userId = view.byKey.get(hexOf(entry.author)) ?? ''
  if (cut === 'pending') return new RevocationCutPendingError(userId)
  const fork = entry.seq === cut.seq && !equalBytes(hash, cut.hash)
  if (entry.seq > cut.seq || fork)
    return new BeyondRevocationCutError(userId, room, entry.seq, cut.seq, fork)
  const cert = view.members.get(userId)?.keys.get(hexOf(entry.author))
  if (cert === undefined) return 'no certificate'
  if (cert.notAfter !== 0 && entry.hlc.wall >= cert.notAfter)
    return `certificate not valid at ${new Date(entry.hlc.wall).toISOString()} (${userId})`
  return undefined
}

/** A cut head as a stored head of its device's chain. */
export const cutHeadAsStored = (h: CutHead): StoredHead => ({
  author: h.key,
  seq: h.seq,
  hash: h.hash,
  sig: h.sig,
})

/** The heads of `keys` in every room `store` holds (room → heads; rooms with none included). */
export async function heldHeads(
  store: HistoryStore,
  keys: readonly Uint8Array[],
): Promise<Map<string, CutHead[]>> {
  const wanted = new Set(keys.map(hexOf))
  const out = new Map<string, CutHead[]>()
  for (const room of await store.rooms()) {
    const heads: CutHead[] = []
    for (const a of await store.authors(room))
      if (wanted.has(hexOf(a.author)) && a.head.seq > 0)
        heads.push({ key: a.author, seq: a.head.seq, hash: a.head.hash, sig: a.head.sig })
    out.set(room, heads)
  }
  return out
}

/** The highest seq of `author` that counts in `room` by a revocation cut (undefined: no cut). */
export function cutSeqOf(view: OrgView, room: string, author: Uint8Array): number | undefined {
  const cut = cutOf(view, room, author)
  return cut === undefined || cut === 'pending' ? undefined : cut.seq
}
