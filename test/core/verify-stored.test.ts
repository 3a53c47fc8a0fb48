import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { PeerSet } from '../helpers/peers.ts'

describe('re-verifying stored history', () => {
  const set = new PeerSet()
  afterEach(() => set.teardown())

  it('[VER1] a clean store verifies every entry from the signed heads', async () => {
    const a = await set.add()
    for (let i = 0; i < 20; i++) await a.messenger.post('general', `m${i}`)
    const report = await a.messenger.verifyHistory('general')
    expect(report).toMatchObject({ authors: 1, verified: 21, unanchored: 0, problems: [] })
  })

  it('[VER2] an entry edited on disk is found', async () => {
    const a = await set.add()
    for (let i = 0; i < 5; i++) await a.messenger.post('general', `m${i}`)
    const dir = a.dir
    await a.stop()
    const db = new Database(join(dir, 'history.db'))
    const row = db.prepare('SELECT rowid, bytes FROM entries WHERE seq = 3').get() as {
      rowid: number
      bytes: Buffer
    }
    const bytes = Buffer.from(row.bytes)
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 2) ^ 1, bytes.length - 2)
    db.prepare('UPDATE entries SET bytes = ? WHERE rowid = ?').run(bytes, row.rowid)
    db.close()
    const again = set.track(await a.restart())
    const report = await again.messenger.verifyHistory('general')
    expect(report.problems).toHaveLength(1)
    expect(report.problems[0]).toContain('seq 3')
    expect(report.verified).toBe(3) // seqs 6, 5 and 4 verify; 3 does not
  })
})
