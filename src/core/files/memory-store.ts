/**
 * A chunk store in memory: for tests, and for a peer with no persistent storage (files are gone on
 * reload). Bounded by `quota` like the disk store.
 */
import { FileNotHeldError } from './errors.ts'
import type { FileManifest } from './manifest.ts'
import { chunkCount } from './manifest.ts'
import { planEviction } from './quota.ts'
import {
  copyInto,
  countBits,
  hasBit,
  newBitmap,
  setBit,
  type ChunkStore,
  type ImportSink,
  type StoredFileInfo,
} from './store.ts'

interface Held {
  manifestBytes: Uint8Array
  manifest: FileManifest
  chunks: Map<number, Uint8Array>
  have: Uint8Array
  pinned: boolean
  lastUsed: number
}

export class MemoryChunkStore implements ChunkStore {
  readonly #files = new Map<string, Held>()
  readonly #quota: number
  #tick = 0

  constructor(init: { quota?: number } = {}) {
    this.#quota = init.quota ?? Number.POSITIVE_INFINITY
  }

  async get(id: string): Promise<StoredFileInfo | undefined> {
    const f = this.#files.get(id)
    if (f === undefined) return undefined
    const count = chunkCount(f.manifest)
    const held = countBits(f.have, count)
    return {
      id,
      manifest: f.manifest,
      have: f.have.slice(),
      held,
      complete: held === count,
      pinned: f.pinned,
    }
  }

  async manifestBytes(id: string): Promise<Uint8Array | undefined> {
    return this.#files.get(id)?.manifestBytes
  }

  async add(
    id: string,
    manifestBytes: Uint8Array,
    manifest: FileManifest,
    opts: { pinned: boolean },
  ): Promise<void> {
    const known = this.#files.get(id)
    if (known !== undefined) {
      known.pinned ||= opts.pinned
      return
    }
    this.#makeRoom(manifest.size)
    this.#files.set(id, {
      manifestBytes: manifestBytes.slice(),
      manifest,
      chunks: new Map(),
      have: newBitmap(chunkCount(manifest)),
      pinned: opts.pinned,
      lastUsed: ++this.#tick,
    })
  }

  async readChunk(id: string, index: number, into?: Uint8Array): Promise<Uint8Array> {
    const bytes = this.#files.get(id)?.chunks.get(index)
    if (bytes === undefined) throw new FileNotHeldError(`chunk ${index} of ${id} is not held`)
    return into === undefined ? bytes : copyInto(into, bytes)
  }

  async writeChunk(id: string, index: number, bytes: Uint8Array): Promise<void> {
    const f = this.#files.get(id)
    if (f === undefined) throw new FileNotHeldError(`file ${id} is not in the store`)
    f.chunks.set(index, bytes.slice())
    setBit(f.have, index)
  }

  async flush(): Promise<void> {}

  async beginImport(expectedSize: number): Promise<ImportSink> {
    this.#makeRoom(expectedSize)
    const chunks = new Map<number, Uint8Array>()
    return {
      write: async (index, bytes) => void chunks.set(index, bytes.slice()),
      finish: async (id, manifestBytes, manifest) => {
        const count = chunkCount(manifest)
        const known = this.#files.get(id)
        if (known !== undefined && countBits(known.have, count) === count) {
          known.pinned = true
          return
        }
        this.#files.set(id, {
          manifestBytes: manifestBytes.slice(),
          manifest,
          chunks,
          have: newBitmap(count, true),
          pinned: true,
          lastUsed: ++this.#tick,
        })
      },
      abort: async () => chunks.clear(),
    }
  }

  async touch(id: string): Promise<void> {
    const f = this.#files.get(id)
    if (f !== undefined) f.lastUsed = ++this.#tick
  }

  async remove(id: string): Promise<void> {
    this.#files.delete(id)
  }

  async list(): Promise<{ id: string; size: number; complete: boolean; pinned: boolean }[]> {
    return [...this.#files].map(([id, f]) => {
      const count = chunkCount(f.manifest)
      return { id, size: f.manifest.size, complete: hasAll(f.have, count), pinned: f.pinned }
    })
  }

  async close(): Promise<void> {}

  #makeRoom(size: number): void {
    const entries = [...this.#files].map(([id, f]) => ({
      id,
      size: f.manifest.size,
      pinned: f.pinned,
      lastUsed: f.lastUsed,
    }))
    for (const id of planEviction(entries, this.#quota, size)) this.#files.delete(id)
  }
}

const hasAll = (bits: Uint8Array, count: number): boolean => {
  for (let i = 0; i < count; i++) if (!hasBit(bits, i)) return false
  return true
}
