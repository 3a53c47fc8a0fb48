import { afterAll } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSqliteStore } from '../../src/node/sqlite-store.ts'
import { registerHistoryStoreContract } from '../core/history-store.contract.ts'

const dir = mkdtempSync(join(tmpdir(), 'parley-store-contract-'))
registerHistoryStoreContract('SQLite', {
  open: async (name) => openSqliteStore(join(dir, `${name}.db`)),
})
// vitest runs test files in worker threads: a process 'exit' hook never ran, and every run left a directory
afterAll(() => rmSync(dir, { recursive: true, force: true }))
