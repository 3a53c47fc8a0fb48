import { MemoryChunkStore } from '../../../src/core/files/memory-store.ts'
import { registerChunkStoreContract } from './chunk-store.contract.ts'

registerChunkStoreContract('memory', {
  open: async (quota) => new MemoryChunkStore(quota === undefined ? {} : { quota }),
  cleanup: async () => undefined,
})
