import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DiskChunkStore } from '../../src/node/file-store.ts'
import type { ChunkStore } from '../../src/core/files/store.ts'
import { registerChunkStoreContract } from '../core/files/chunk-store.contract.ts'

const opened: { store: ChunkStore; dir: string; quota: number | undefined }[] = []

registerChunkStoreContract('disk', {
  open: async (quota) => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-chunks-'))
    const store = new DiskChunkStore({ dir, ...(quota === undefined ? {} : { quota }) })
    opened.push({ store, dir, quota })
    return store
  },
  reopen: async (store) => {
    const o = opened.find((x) => x.store === store)!
    await store.close()
    o.store = new DiskChunkStore({
      dir: o.dir,
      ...(o.quota === undefined ? {} : { quota: o.quota }),
    })
    return o.store
  },
  cleanup: async () => {
    for (const o of opened.splice(0)) {
      await o.store.close()
      rmSync(o.dir, { recursive: true, force: true })
    }
  },
})
