/**
 * What org tests read and hand around of a room's history: the entries a peer holds, its key
 * records, and a relay that passes stored entries on directly (as a peer that ignores revocations
 * and removals would).
 */
import { expect, vi } from 'vitest'
import { META_PERIOD, authorId, decodeEntry } from '../../src/crdt/entry.ts'
import { decodeKeyRecord, updateKind } from '../../src/crdt/e2ee.ts'
import type { Verified } from '../../src/core/room-history.ts'
import type { OrgPeer } from './org-peers.ts'

/** Waits until `p` holds every entry `from` holds in `room` (joining it on `p`). */
export async function untilHolds(
  p: OrgPeer,
  from: OrgPeer,
  room: string,
  wait: { timeout: number; interval: number },
): Promise<void> {
  await vi.waitFor(async () => {
    const h = await p.messenger.join(room)
    for (const a of await from.messenger.get(room)!.authors())
      expect(h.author(a.author)?.contig ?? 0).toBeGreaterThanOrEqual(a.head.seq)
  }, wait)
}

/** Hands every stored entry of `room` on `from` that `to` lacks to `to` directly (a relay). */
export async function relayAll(from: OrgPeer, to: OrgPeer, room: string): Promise<void> {
  const h = await to.messenger.join(room)
  for (const a of await from.messenger.get(room)!.authors()) {
    const have = h.author(a.author)?.contig ?? 0
    const stored = await from.store.entries(room, a.author, have + 1, a.head.seq)
    const verified: Verified[] = stored.map((s) => ({ entry: decodeEntry(s.bytes), stored: s }))
    if (verified.length > 0) await h.ingest(verified, a.head)
  }
}

/** The key records `p` stores in `room`, decoded, with their authors, in store order. */
export async function keyRecords(p: OrgPeer, room: string) {
  const out = []
  for (const s of await p.store.periodEntries(room, META_PERIOD)) {
    const e = decodeEntry(s.bytes)
    if (updateKind(e.update) === 'keys')
      out.push({ author: authorId(e.author), seq: e.seq, record: decodeKeyRecord(e.update) })
  }
  return out
}

/** The author id `p` writes as. */
export const idOf = (p: OrgPeer): string => p.messenger.authorId
