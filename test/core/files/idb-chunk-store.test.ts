/** The browser's chunk store (src/core/idb-chunk-store.ts) against the contract, on fake-indexeddb. */
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { IdbChunkStore } from '../../../src/core/idb-chunk-store.ts'
import { bytesSource, importFile } from '../../../src/core/files/import.ts'
import { decodeManifest } from '../../../src/core/files/manifest.ts'
import { nobleCrypto } from '../../../src/crdt/crypto.ts'
import { registerChunkStoreContract } from './chunk-store.contract.ts'

let factory = new IDBFactory()
let n = 0
const names = new WeakMap<IdbChunkStore, string>()
const open: (quota?: number, name?: string) => Promise<IdbChunkStore> = async (quota, name) => {
  const db = name ?? `files-${++n}`
  const store = await IdbChunkStore.open({
    name: db,
    idb: factory,
    ...(quota === undefined ? {} : { quota }),
  })
  names.set(store, db)
  return store
}

registerChunkStoreContract('IndexedDB', {
  open: (quota) => open(quota),
  reopen: async (store) => {
    const name = names.get(store as IdbChunkStore)!
    await store.close()
    return open(undefined, name)
  },
  cleanup: async () => {
    factory = new IDBFactory()
  },
})

describe('IdbChunkStore', () => {
  const sha256 = (b: Uint8Array) => nobleCrypto.sha256(b)
  const CHUNK = 16 * 1024

  it('[IDBCS1] a file held whole comes back as one Blob of its chunks, byte for byte', async () => {
    const store = await open()
    const bytes = new Uint8Array(randomBytes(3 * CHUNK + 7))
    const meta = { name: 'a.bin', type: 'application/octet-stream', size: bytes.length }
    const { id } = await importFile(store, sha256, bytesSource(bytes), meta, undefined, CHUNK)
    const blob = await store.fileBlob(id, 'application/octet-stream')
    expect(blob.size).toBe(bytes.length)
    expect(blob.type).toBe('application/octet-stream')
    expect(Buffer.from(await blob.arrayBuffer()).equals(bytes)).toBe(true)
  })

  it('[IDBCS2] a file not held whole gives FileNotHeldError; an aborted import leaves no chunks', async () => {
    const store = await open()
    const err = await store.fileBlob('cd'.repeat(32), '').catch((e: unknown) => e)
    expect((err as Error).name).toBe('FileNotHeldError')
    const ac = new AbortController()
    async function* cut() {
      yield new Uint8Array(2 * CHUNK)
      ac.abort()
      yield new Uint8Array(CHUNK)
    }
    const meta = { name: 'b.bin', type: '', size: 3 * CHUNK }
    const failed = await importFile(store, sha256, cut(), meta, ac.signal, CHUNK).catch((e) => e)
    expect((failed as Error).name).toBe('AbortError')
    expect(await store.list()).toEqual([])
    const tx = (await indexedDBCount(factory, names.get(store)!)) as number
    expect(tx).toBe(0)
  })

  it('[IDBCS3] chunks written at once (batched into shared transactions) are all held; one for an unknown file fails alone', async () => {
    const src = await open()
    const files = [new Uint8Array(randomBytes(12 * CHUNK)), new Uint8Array(randomBytes(7 * CHUNK))]
    const meta = (size: number) => ({ name: 'c.bin', type: '', size })
    const ids: string[] = []
    for (const bytes of files)
      ids.push(
        (await importFile(src, sha256, bytesSource(bytes), meta(bytes.length), undefined, CHUNK))
          .id,
      )
    const store = await open()
    for (const id of ids) {
      const mbytes = (await src.manifestBytes(id))!
      await store.add(id, mbytes, decodeManifest(mbytes), { pinned: true })
    }
    const writes: Promise<void>[] = []
    files.forEach((bytes, f) => {
      for (let i = 0; i < bytes.length / CHUNK; i++)
        writes.push(store.writeChunk(ids[f]!, i, bytes.subarray(i * CHUNK, (i + 1) * CHUNK)))
    })
    const unknown = store.writeChunk('ab'.repeat(32), 0, new Uint8Array(CHUNK))
    const results = await Promise.allSettled([...writes, unknown])
    expect(results.slice(0, -1).every((r) => r.status === 'fulfilled')).toBe(true)
    const last = results.at(-1) as PromiseRejectedResult
    expect((last.reason as Error).name).toBe('FileNotHeldError')
    for (const [f, id] of ids.entries()) {
      const info = (await store.get(id))!
      expect(info.complete).toBe(true)
      const blob = await store.fileBlob(id, '')
      expect(Buffer.from(await blob.arrayBuffer()).equals(files[f]!)).toBe(true)
    }
  })
})

/** Number of chunk records in database `name`. */
async function indexedDBCount(f: IDBFactory, name: string): Promise<number> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const r = f.open(name)
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error)
  })
  const r = db.transaction('chunks').objectStore('chunks').count()
  const count = await new Promise<number>((resolve) => (r.onsuccess = () => resolve(r.result)))
  db.close()
  return count
}
