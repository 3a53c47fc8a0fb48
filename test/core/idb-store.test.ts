import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { describe, expect, it } from 'vitest'
import { openIdbStore } from '../../src/core/idb-store.ts'
import { registerHistoryStoreContract } from './history-store.contract.ts'

let factory = new IDBFactory()
registerHistoryStoreContract('IndexedDB (fake-indexeddb)', {
  open: (name) => openIdbStore(name, factory),
  cleanup: () => {
    factory = new IDBFactory()
  },
})

describe('IndexedDB store specifics', () => {
  it('[IDB1] stores each entry in its own buffer, not the sync frame it was decoded from', async () => {
    const store = await openIdbStore('views', new IDBFactory())
    const frame = new Uint8Array(1 << 20)
    const author = frame.subarray(0, 32).fill(3)
    const e = {
      author,
      seq: 1,
      period: 5,
      hash: frame.subarray(32, 64),
      bytes: frame.subarray(64, 164),
    }
    await store.append('r', [e], { author, seq: 1, hash: e.hash, sig: frame.subarray(200, 264) })
    const [got] = await store.entries('r', author, 1, 1)
    expect(got?.bytes.buffer.byteLength).toBe(100)
    expect(got?.author.buffer.byteLength).toBe(32)
    const [a] = await store.authors('r')
    expect(a?.head.sig.buffer.byteLength).toBe(64)
    await store.close()
  })

  it('[IDB2] prefetched settings answer the first read from the open; a put before it wins', async () => {
    const idb = new IDBFactory()
    const enc = (t: string): Uint8Array => new TextEncoder().encode(t)
    const text = (b: Uint8Array | undefined): string | undefined =>
      b === undefined ? undefined : new TextDecoder().decode(b)
    const first = await openIdbStore('prefetch', idb)
    await first.putSetting('a', enc('a1'))
    await first.putSetting('b', enc('b1'))
    await first.close()
    const store = await openIdbStore('prefetch', idb, { prefetch: ['a', 'b', 'none'] })
    // Another connection changes `a` after the open: the first read still has the open's value
    // (it was read then), the next one reads again.
    const other = await openIdbStore('prefetch', idb)
    await other.putSetting('a', enc('a2'))
    await other.close()
    expect(text(await store.getSetting('a'))).toBe('a1')
    expect(text(await store.getSetting('a'))).toBe('a2')
    await store.putSetting('b', enc('b2'))
    expect(text(await store.getSetting('b'))).toBe('b2')
    expect(await store.getSetting('none')).toBeUndefined()
    await store.close()
  })
})
