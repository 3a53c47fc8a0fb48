import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { HistoryStore, StoredEntry, StoredHead } from '../../src/core/store.ts'
import { openSqliteStore } from '../../src/node/sqlite-store.ts'

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

describe('sqlite store', () => {
  let dir: string
  let store: HistoryStore | undefined
  const open = () => (store = openSqliteStore(join(dir, 'history.db')))
  afterEach(async () => {
    await store?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('[ST1] tracks the contiguous prefix and the newest head across holes and reopen', async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-store-'))
    let s = open()
    await s.append('general', [entry(author, 5), entry(author, 6)], head(author, 6))
    expect((await s.authors('general'))[0]).toMatchObject({ contig: 0, head: { seq: 6 } })
    await s.append('general', [entry(author, 1), entry(author, 2), entry(author, 3)])
    expect((await s.authors('general'))[0]).toMatchObject({ contig: 3, head: { seq: 6 } })
    await s.append('general', [entry(author, 4)])
    expect((await s.authors('general'))[0]).toMatchObject({ contig: 6, head: { seq: 6 } })
    await s.close()
    s = open()
    expect(await s.rooms()).toEqual(['general'])
    expect((await s.entries('general', author, 2, 4)).map((e) => e.seq)).toEqual([2, 3, 4])
  })

  it('[ST2] refuses entries of an unknown author without a head, atomically', async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-store-'))
    const s = open()
    await expect(
      s.append('r', [entry(author, 1), entry(other, 1)], head(author, 1)),
    ).rejects.toMatchObject({
      name: 'StorageError',
    })
    expect(await s.rooms()).toEqual([])
    expect(await s.entries('r', author, 1, 10)).toEqual([])
  })

  it('[ST3] period queries filter by author and seq; snapshots and settings round-trip', async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-store-'))
    const s = open()
    await s.append(
      'r',
      [entry(author, 1, 1), entry(author, 2, 2), entry(author, 3, 2)],
      head(author, 3),
    )
    await s.append('r', [entry(other, 1, 2)], head(other, 1))
    expect(await s.periods('r')).toEqual([2, 1])
    const all = await s.periodEntries('r', 2)
    expect(all.map((e) => e.seq)).toHaveLength(3)
    const some = await s.periodEntries('r', 2, new Map([['07'.repeat(32), 2]]))
    expect(some.map((e) => [e.author[0], e.seq])).toEqual([
      [7, 3],
      [9, 1],
    ])
    await s.putSnapshot('r', 2, { bytes: new Uint8Array([1, 2]), covers: new Map([['ab', 3]]) })
    expect(await s.snapshot('r', 2)).toEqual({
      bytes: new Uint8Array([1, 2]),
      covers: new Map([['ab', 3]]),
    })
    await s.putSetting('k', new Uint8Array([4]))
    expect(await s.getSetting('k')).toEqual(new Uint8Array([4]))
  })
})
