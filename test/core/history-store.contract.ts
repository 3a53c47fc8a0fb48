/**
 * The HistoryStore contract ([HS1]–[HS7]), run against every backend: SQLite
 * (test/node/sqlite-store.contract.test.ts) and IndexedDB (test/core/idb-store.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { HistoryStore, StoredEntry, StoredHead } from '../../src/core/store.ts'

export interface StoreFactory {
  /** Opens the store named `name` (the same name reopens the same data). */
  open(name: string): Promise<HistoryStore>
  cleanup?(): Promise<void> | void
}

const author = new Uint8Array(32).fill(7)
const other = new Uint8Array(32).fill(9)
const entry = (a: Uint8Array, seq: number, period = 20000): StoredEntry => ({
  author: a,
  seq,
  hash: new Uint8Array(32).fill(seq),
  period,
  bytes: new Uint8Array([seq, 1, 2, 3]),
})
const head = (a: Uint8Array, seq: number): StoredHead => ({
  author: a,
  seq,
  hash: new Uint8Array(32).fill(seq),
  sig: new Uint8Array(64).fill(1),
})

export function registerHistoryStoreContract(label: string, factory: StoreFactory): void {
  describe(`HistoryStore contract: ${label}`, () => {
    const open: HistoryStore[] = []
    let n = 0
    const name = (): string => `store-${Date.now()}-${n++}`
    const openStore = async (nm: string): Promise<HistoryStore> => {
      const s = await factory.open(nm)
      open.push(s)
      return s
    }
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close()
      await factory.cleanup?.()
    })

    it('[HS1] tracks the contiguous prefix and the newest head across holes and reopen', async () => {
      const nm = name()
      let s = await openStore(nm)
      await s.append('general', [entry(author, 5), entry(author, 6)], head(author, 6))
      expect((await s.authors('general'))[0]).toMatchObject({ contig: 0, head: { seq: 6 } })
      await s.append('general', [entry(author, 1), entry(author, 2), entry(author, 3)])
      expect((await s.authors('general'))[0]).toMatchObject({ contig: 3, head: { seq: 6 } })
      await s.append('general', [entry(author, 4)], head(author, 4))
      expect((await s.authors('general'))[0]).toMatchObject({ contig: 6, head: { seq: 6 } })
      await s.close()
      s = await openStore(nm)
      expect(await s.rooms()).toEqual(['general'])
      expect((await s.entries('general', author, 2, 4)).map((e) => e.seq)).toEqual([2, 3, 4])
    })

    it('[HS2] refuses entries of an unknown author without a head, atomically', async () => {
      const s = await openStore(name())
      await expect(
        s.append('r', [entry(author, 1), entry(other, 1)], head(author, 1)),
      ).rejects.toMatchObject({ name: 'StorageError' })
      expect(await s.rooms()).toEqual([])
      expect(await s.entries('r', author, 1, 10)).toEqual([])
    })

    it('[HS3] period queries filter by author and seq; snapshots and settings round-trip', async () => {
      const s = await openStore(name())
      await s.append(
        'r',
        [entry(author, 1, 1), entry(author, 2, 2), entry(author, 3, 2)],
        head(author, 3),
      )
      await s.append('r', [entry(other, 1, 2)], head(other, 1))
      expect(await s.periods('r')).toEqual([2, 1])
      expect(await s.periodEntries('r', 2)).toHaveLength(3)
      const some = await s.periodEntries('r', 2, new Map([['07'.repeat(32), 2]]))
      expect(some.map((e) => [e.author[0], e.seq])).toEqual([
        [7, 3],
        [9, 1],
      ])
      for (const above of [new Map<string, number>(), new Map([['07'.repeat(32), 2]])]) {
        const bytes = await s.periodEntryBytes('r', 2, above)
        expect(bytes.map((b) => [...b])).toEqual(
          (await s.periodEntries('r', 2, above)).map((e) => [...e.bytes]),
        )
      }
      await s.putSnapshot('r', 2, { bytes: new Uint8Array([1, 2]), covers: new Map([['ab', 3]]) })
      expect(await s.snapshot('r', 2)).toEqual({
        bytes: new Uint8Array([1, 2]),
        covers: new Map([['ab', 3]]),
      })
      expect(await s.snapshot('r', 3)).toBeUndefined()
      await s.putSetting('k', new Uint8Array([4]))
      expect(await s.getSetting('k')).toEqual(new Uint8Array([4]))
      expect(await s.getSetting('missing')).toBeUndefined()
    })

    it('[HS4] an entry already held is kept as it was', async () => {
      const s = await openStore(name())
      await s.append('r', [entry(author, 1)], head(author, 1))
      const forged = { ...entry(author, 1), bytes: new Uint8Array([9, 9]) }
      await s.append('r', [forged, entry(author, 2)], head(author, 2))
      const got = await s.entries('r', author, 1, 2)
      expect(got.map((e) => [...e.bytes])).toEqual([
        [1, 1, 2, 3],
        [2, 1, 2, 3],
      ])
      expect((await s.authors('r'))[0]).toMatchObject({ contig: 2, head: { seq: 2 } })
    })

    it('[HS5] lowestPeriod skips meta entries; rooms are listed once each, sorted', async () => {
      const s = await openStore(name())
      const META = 0xffff_ffff
      await s.append(
        'b',
        [entry(author, 1, META), entry(author, 2, 5), entry(author, 3, 6)],
        head(author, 3),
      )
      await s.append('a', [entry(other, 1, META)], head(other, 1))
      await s.append('b', [entry(other, 1, 6)], head(other, 1))
      expect(await s.lowestPeriod('b', author, 0)).toBe(5)
      expect(await s.lowestPeriod('b', author, 2)).toBe(6)
      expect(await s.lowestPeriod('b', author, 3)).toBeUndefined()
      expect(await s.lowestPeriod('a', other, 0)).toBe(META)
      expect(await s.rooms()).toEqual(['a', 'b'])
      expect(await s.periods('b')).toEqual([META, 6, 5])
    })

    it('[HS6] appends issued together, and after a refused one, end where one-by-one would', async () => {
      const s = await openStore(name())
      await s.append('r', [entry(author, 1)], head(author, 1))
      // not awaited in between: each must see the ones issued before it
      await Promise.all([
        s.append('r', [entry(author, 5)], head(author, 5)),
        s.append('r', [entry(author, 2), entry(author, 3)]),
        s.append('r', [entry(author, 4)], head(author, 4)),
        s.append('r', [entry(author, 6)], head(author, 6)),
      ])
      expect((await s.authors('r'))[0]).toMatchObject({ contig: 6, head: { seq: 6 } })
      await expect(s.append('r', [entry(author, 7), entry(other, 1)])).rejects.toMatchObject({
        name: 'StorageError',
      })
      expect((await s.authors('r'))[0]).toMatchObject({ contig: 6, head: { seq: 6 } })
      await s.append('r', [entry(author, 8)], head(author, 8))
      await s.append('r', [entry(author, 7)])
      expect((await s.authors('r'))[0]).toMatchObject({ contig: 8, head: { seq: 8 } })
      expect((await s.entries('r', author, 1, 9)).map((e) => e.seq)).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8,
      ])
    })

    it('[HS7] one append of several authors, interleaved, given as views into one buffer', async () => {
      const s = await openStore(name())
      await s.append('r', [entry(other, 1)], head(other, 1))
      // entries as a decoded frame gives them: views at offsets into one larger buffer
      const frame = new Uint8Array(1024).fill(0xee)
      const view = (e: StoredEntry, at: number): StoredEntry => {
        const at2 = at + e.bytes.length
        frame.set(e.bytes, at)
        frame.set(e.hash, at2)
        return { ...e, bytes: frame.subarray(at, at2), hash: frame.subarray(at2, at2 + 32) }
      }
      const batch = [entry(author, 1), entry(other, 2), entry(author, 2), entry(other, 3)]
      await s.append(
        'r',
        batch.map((e, i) => view(e, 1 + i * 50)),
        head(author, 2),
      )
      const byAuthor = new Map((await s.authors('r')).map((a) => [a.author[0], a]))
      expect(byAuthor.get(7)).toMatchObject({ contig: 2, head: { seq: 2 } })
      expect(byAuthor.get(9)).toMatchObject({ contig: 3, head: { seq: 1 } })
      const got = [...(await s.entries('r', author, 1, 2)), ...(await s.entries('r', other, 2, 3))]
      expect(got.map((e) => [[...e.bytes], e.hash[0]])).toEqual([
        [[1, 1, 2, 3], 1],
        [[2, 1, 2, 3], 2],
        [[2, 1, 2, 3], 2],
        [[3, 1, 2, 3], 3],
      ])
    })
  })
}
