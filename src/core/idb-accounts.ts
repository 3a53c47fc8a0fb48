/** {@link AccountStorage} in the browser: IndexedDB database `parley-accounts`. */
import type { AccountRecord, AccountStorage, SessionRecord } from './accounts.ts'
import { defaultIdb, done, openDb, req } from './idb.ts'

const SESSION = 'current'

export async function openIdbAccounts(factory: IDBFactory = defaultIdb()): Promise<AccountStorage> {
  const db = await openDb(factory, 'parley-accounts', 1, (d) => {
    d.createObjectStore('accounts', { keyPath: 'author' })
    d.createObjectStore('session')
  })
  const put = async (store: string, value: unknown, key?: string): Promise<void> => {
    const tx = db.transaction(store, 'readwrite')
    tx.objectStore(store).put(value, key)
    await done(tx)
  }
  return {
    list: async () =>
      (await req(db.transaction('accounts').objectStore('accounts').getAll())) as AccountRecord[],
    put: (r) => put('accounts', r),
    getSession: async () =>
      (await req(db.transaction('session').objectStore('session').get(SESSION))) as
        SessionRecord | undefined,
    putSession: (s) => put('session', s, SESSION),
    clearSession: async () => {
      const tx = db.transaction('session', 'readwrite')
      tx.objectStore('session').delete(SESSION)
      await done(tx)
    },
  }
}
