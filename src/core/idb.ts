/**
 * A few promise helpers over the IndexedDB API (browsers; fake-indexeddb in unit tests). Awaiting a
 * request inside a transaction is safe: the promise settles in the request's callback, and the
 * transaction stays alive across the microtasks that follow.
 */

/** Resolves with a request's result, rejects with its error. */
export function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'))
  })
}

/** Resolves when `tx` commits; rejects when it aborts or fails. */
export function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve()
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'))
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'))
  })
}

/** Opens database `name` at `version`, running `upgrade` when it is new or older. */
export function openDb(
  factory: IDBFactory,
  name: string,
  version: number,
  upgrade: (db: IDBDatabase, oldVersion: number) => void,
): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = factory.open(name, version)
    r.onupgradeneeded = (e) => upgrade(r.result, e.oldVersion)
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error ?? new Error(`cannot open IndexedDB ${name}`))
    r.onblocked = () => reject(new Error(`IndexedDB ${name} is held open by another tab`))
  })
}

/** The browser's IndexedDB, or a clear error where there is none. */
export function defaultIdb(): IDBFactory {
  const f = (globalThis as { indexedDB?: IDBFactory }).indexedDB
  if (f === undefined) throw new Error('this browser has no IndexedDB (private mode?)')
  return f
}

/** Whether an error is the browser refusing to store more (quota). */
export function isQuotaError(err: unknown): boolean {
  return err instanceof Error && err.name === 'QuotaExceededError'
}
