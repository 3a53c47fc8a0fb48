/**
 * When a Node peer rewrites a period's store snapshot (src/core/period-cache.ts): a snapshot is
 * the whole day, so a busy day's is rewritten as it grows by a share of itself, or once its first
 * unsaved change is a minute old — not 2 s after every change — and what was not yet in a
 * snapshot comes back from the stored entries after a crash.
 */
import 'fake-indexeddb/auto'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createNobleSigner, nobleCrypto } from '../../src/crdt/crypto.ts'
import { createClock } from '../../src/crdt/hlc.ts'
import { periodOf } from '../../src/crdt/entry.ts'
import { createIdentity } from '../../src/core/identity.ts'
import { openIdbStore } from '../../src/core/idb-store.ts'
import { SNAPSHOT_GROWTH, SNAPSHOT_MAX_AGE_MS } from '../../src/core/period-saver.ts'
import type { RoomHistory } from '../../src/core/room-history.ts'
import { openRoomHistory } from '../helpers/room-history.ts'
import type { HistoryStore, Snapshot, StoredEntry } from '../../src/core/store.ts'

const ROOM = 'general'
let n = 0

/** A store that notes the size of every snapshot written of today and what each load replays. */
function counting(store: HistoryStore) {
  const puts: number[] = []
  const replayed: number[] = []
  const today = periodOf(Date.now())
  const s = Object.assign(Object.create(store) as HistoryStore, {
    async putSnapshot(room: string, period: number, snap: Snapshot) {
      if (period === today) puts.push(snap.bytes.length)
      return store.putSnapshot(room, period, snap)
    },
    async periodEntries(
      room: string,
      period: number,
      above?: Map<string, number>,
    ): Promise<StoredEntry[]> {
      const out = await store.periodEntries(room, period, above)
      if (period === today) replayed.push(out.length)
      return out
    },
  })
  return { store: s, puts, replayed }
}

/** Polls `check` once per macrotask (never on a timer: the tests fake them), up to 500 times. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return
    await new Promise((r) => setImmediate(r))
  }
  throw new Error('condition not reached')
}

describe('store snapshots of a busy day', () => {
  const closers: (() => Promise<void>)[] = []
  afterEach(async () => {
    vi.useRealTimers()
    for (const c of closers.splice(0).reverse()) await c()
  })

  const setup = async () => {
    const identity = createIdentity(createNobleSigner(new Uint8Array(randomBytes(32))), nobleCrypto)
    const clock = createClock()
    const raw = await openIdbStore(`snap-${process.pid}-${n++}`)
    closers.push(() => raw.close())
    const open = (store: HistoryStore): Promise<RoomHistory> =>
      openRoomHistory({ room: ROOM, store, identity, clock })
    return { raw, open }
  }
  const text = (i: number): string => `message ${i} `.padEnd(200, 'lorem ipsum ')
  const texts = async (h: RoomHistory): Promise<string[]> => (await h.messages()).map((m) => m.text)

  it('[SNAP1] a snapshot is rewritten as the day grows by a share of it, and a crash loses nothing of what it lacks', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const { raw, open } = await setup()
    const c = counting(raw)
    const h = await open(c.store)
    const N = 120
    // One message, then past the snapshot delay: every change had its own snapshot before.
    for (let i = 0; i < N; i++) {
      await h.write({ kind: 'post', text: text(i) })
      await vi.advanceTimersByTimeAsync(2_100)
    }
    await until(() => c.puts.length > 0)
    // Each rewrite follows a quarter of the last one's bytes in new updates: a few dozen for
    // 120 messages (sizes growing by 1.25× each), where 120 were written before.
    expect(c.puts.length).toBeGreaterThan(5)
    expect(c.puts.length).toBeLessThan(N / 3)
    for (let k = 1; k < c.puts.length; k++)
      expect(c.puts[k]!).toBeGreaterThanOrEqual(c.puts[k - 1]! * (1 + SNAPSHOT_GROWTH) * 0.9)

    // A crash: the first history is never closed, so never flushed. A second one on the same
    // store rebuilds the day from the last snapshot and the stored entries after it.
    const after = counting(raw)
    const again = await open(after.store)
    closers.push(() => again.close())
    expect(await texts(again)).toEqual(Array.from({ length: N }, (_, i) => text(i)))
    expect(after.replayed[0]).toBeGreaterThan(0)
  })

  it('[SNAP2] a small change to a big day is written within a minute, and at close', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const { raw, open } = await setup()
    const c = counting(raw)
    const h = await open(c.store)
    for (let i = 0; i < 40; i++) await h.write({ kind: 'post', text: text(i) })
    await h.flush()
    const full = c.puts.length
    expect(full).toBeGreaterThan(0)

    await h.write({ kind: 'post', text: text(40) })
    await vi.advanceTimersByTimeAsync(SNAPSHOT_MAX_AGE_MS - 4_000)
    expect(c.puts.length).toBe(full)
    await vi.advanceTimersByTimeAsync(6_000)
    await until(() => c.puts.length === full + 1)

    await h.write({ kind: 'post', text: text(41) })
    await h.close()
    expect(c.puts.length).toBe(full + 2)
    const again = await open(c.store)
    closers.push(() => again.close())
    expect(c.replayed.at(-1)).toBe(0)
    expect((await texts(again)).length).toBe(42)
  })
})
