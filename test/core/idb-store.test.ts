import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { openIdbStore } from '../../src/core/idb-store.ts'
import { registerHistoryStoreContract } from './history-store.contract.ts'

let factory = new IDBFactory()
registerHistoryStoreContract('IndexedDB (fake-indexeddb)', {
  open: (name) => openIdbStore(name, factory),
  cleanup: () => {
    factory = new IDBFactory()
  },
})
