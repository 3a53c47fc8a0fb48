/**
 * The chunk store contract ([CS1]–[CS7]), run against every implementation (memory, disk; the
 * browser's when it comes).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import type { ChunkStore } from '../../../src/core/files/store.ts'
import { hasBit } from '../../../src/core/files/store.ts'
import { bytesSource, importFile } from '../../../src/core/files/import.ts'
import { decodeManifest } from '../../../src/core/files/manifest.ts'

const sha256 = (b: Uint8Array): Uint8Array =>
  new Uint8Array(createHash('sha256').update(b).digest())
const CHUNK = 16 * 1024

export interface ChunkStoreFactory {
  /** A fresh store; `quota` in bytes. */
  open(quota?: number): Promise<ChunkStore>
  /** The same store closed and opened again (persistent stores), or undefined. */
  reopen?(store: ChunkStore): Promise<ChunkStore>
  cleanup(): Promise<void>
}

async function add(store: ChunkStore, bytes: Uint8Array) {
  return importFile(
    store,
    sha256,
    bytesSource(bytes),
    { name: 'f.bin', type: '', size: bytes.length },
    undefined,
    CHUNK,
  )
}

export function registerChunkStoreContract(name: string, factory: ChunkStoreFactory): void {
  describe(`chunk store contract: ${name}`, () => {
    afterEach(() => factory.cleanup())

    it('[CS1] an imported file is held whole, pinned, and reads back chunk by chunk', async () => {
      const store = await factory.open()
      const bytes = new Uint8Array(randomBytes(3 * CHUNK + 100))
      const { id, manifest } = await add(store, bytes)
      expect(sha256(await store.manifestBytes(id).then((b) => b!))).toEqual(
        Uint8Array.from(Buffer.from(id, 'hex')),
      )
      const info = await store.get(id)
      expect(info).toMatchObject({ complete: true, pinned: true, held: 4 })
      const parts = []
      for (let i = 0; i < 4; i++) parts.push(await store.readChunk(id, i))
      expect(Buffer.concat(parts).equals(bytes)).toBe(true)
      expect(manifest.size).toBe(bytes.length)
      expect(await store.list()).toEqual([{ id, size: bytes.length, complete: true, pinned: true }])
    })

    it('[CS2] chunks written into an added file are held once flushed, and survive a reopen', async () => {
      const src = await factory.open()
      const bytes = new Uint8Array(randomBytes(4 * CHUNK))
      const { id } = await add(src, bytes)
      const mbytes = (await src.manifestBytes(id))!
      const store = await factory.open()
      await store.add(id, mbytes, decodeManifest(mbytes), { pinned: false })
      await store.writeChunk(id, 2, await src.readChunk(id, 2))
      await store.writeChunk(id, 0, await src.readChunk(id, 0))
      await store.flush(id)
      let info = (await store.get(id))!
      expect([0, 1, 2, 3].map((i) => hasBit(info.have, i))).toEqual([true, false, true, false])
      expect(info).toMatchObject({ held: 2, complete: false, pinned: false })
      const again = factory.reopen === undefined ? store : await factory.reopen(store)
      info = (await again.get(id))!
      expect(info.held).toBe(2)
      expect(
        Buffer.from(await again.readChunk(id, 2)).equals(bytes.subarray(2 * CHUNK, 3 * CHUNK)),
      ).toBe(true)
    })

    it('[CS3] reading a chunk not held fails with FileNotHeldError', async () => {
      const store = await factory.open()
      const err = await store.readChunk('ab'.repeat(32), 0).catch((e: unknown) => e)
      expect((err as Error).name).toBe('FileNotHeldError')
    })

    it('[CS7] a chunk read into a given buffer fills that buffer; a wrong length is refused', async () => {
      const store = await factory.open()
      const bytes = new Uint8Array(randomBytes(2 * CHUNK + 10))
      const { id } = await add(store, bytes)
      const frame = new Uint8Array(5 + 10)
      const into = frame.subarray(5)
      expect(await store.readChunk(id, 2, into)).toBe(into)
      expect(Buffer.from(frame.subarray(5)).equals(bytes.subarray(2 * CHUNK))).toBe(true)
      const err = await store.readChunk(id, 0, into).catch((e: unknown) => e)
      expect((err as Error).name).toBe('RangeError')
    })

    it('[CS4] beyond the quota, the least recently used evictable file goes; pinned files stay', async () => {
      const store = await factory.open(10 * CHUNK)
      const src = await factory.open()
      const files = []
      for (let i = 0; i < 3; i++) {
        const { id } = await add(src, new Uint8Array(randomBytes(4 * CHUNK)))
        const mb = (await src.manifestBytes(id))!
        files.push({ id, mb })
      }
      const [f0, f1, f2] = files as [(typeof files)[0], (typeof files)[0], (typeof files)[0]]
      await store.add(f0.id, f0.mb, decodeManifest(f0.mb), { pinned: false })
      await store.add(f1.id, f1.mb, decodeManifest(f1.mb), { pinned: false })
      await store.touch(f0.id)
      await store.add(f2.id, f2.mb, decodeManifest(f2.mb), { pinned: false })
      const ids = (await store.list()).map((f) => f.id).sort()
      expect(ids).toEqual([f0.id, f2.id].sort())
    })

    it('[CS5] a file that does not fit even after evicting is refused with FileQuotaError', async () => {
      const store = await factory.open(6 * CHUNK)
      await add(store, new Uint8Array(randomBytes(4 * CHUNK)))
      const err = await add(store, new Uint8Array(randomBytes(4 * CHUNK))).catch((e: unknown) => e)
      expect((err as Error).name).toBe('FileQuotaError')
      expect(await store.list()).toHaveLength(1)
    })

    it('[CS6] touching or pinning a file while its chunks arrive loses none of them', async () => {
      const src = await factory.open()
      const n = 24
      const bytes = new Uint8Array(randomBytes(n * CHUNK))
      const { id } = await add(src, bytes)
      const mbytes = (await src.manifestBytes(id))!
      const store = await factory.open()
      await store.add(id, mbytes, decodeManifest(mbytes), { pinned: false })
      // as a download goes: chunks written while the same file is served (touched) and saved (pinned)
      const ops: Promise<void>[] = []
      for (let i = 0; i < n; i++) {
        ops.push(store.writeChunk(id, i, bytes.subarray(i * CHUNK, (i + 1) * CHUNK)))
        if (i % 3 === 0) ops.push(store.touch(id))
        if (i === n / 2) ops.push(store.add(id, mbytes, decodeManifest(mbytes), { pinned: true }))
      }
      await Promise.all(ops)
      await store.flush(id)
      expect(await store.get(id)).toMatchObject({ held: n, complete: true, pinned: true })
    })
  })
}
