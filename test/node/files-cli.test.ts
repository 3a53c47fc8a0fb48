/**
 * `parley send --file` and `parley get` as spawned processes: through a serve, standalone, and
 * resuming after `kill -9` of the receiver mid-transfer.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { CliHarness } from '../helpers/cli.ts'
import { DiskChunkStore } from '../../src/node/file-store.ts'
import { bytesSource, importFile } from '../../src/core/files/import.ts'
import { decodeManifest } from '../../src/core/files/manifest.ts'

const sha256 = (b: Uint8Array): Uint8Array =>
  new Uint8Array(createHash('sha256').update(b).digest())
const MiB = 1024 * 1024

/** Chunks of `id` durably held by the store in `dir` (read-only, while its process runs). */
function heldIn(dir: string, id: string): number {
  let db: Database.Database | undefined
  try {
    db = new Database(join(dir, 'files', 'files.db'), { readonly: true, fileMustExist: true })
    const row = db.prepare('SELECT held FROM files WHERE id = ?').get(id) as
      { held: number } | undefined
    return row?.held ?? 0
  } catch {
    return 0
  } finally {
    db?.close()
  }
}

/** Puts `bytes` into the data directory's file store: whole, or only its first `chunks` chunks. */
async function seed(dir: string, bytes: Uint8Array, chunks?: number): Promise<string> {
  const full = new DiskChunkStore({ dir: join(dir, 'files') })
  const { id } = await importFile(full, sha256, bytesSource(bytes), {
    name: 'big.bin',
    type: '',
    size: bytes.length,
  })
  if (chunks !== undefined) {
    const mb = (await full.manifestBytes(id))!
    const parts = []
    for (let i = 0; i < chunks; i++) parts.push(await full.readChunk(id, i))
    await full.remove(id)
    await full.add(id, mb, decodeManifest(mb), { pinned: true })
    for (const [i, p] of parts.entries()) await full.writeChunk(id, i, p)
    await full.flush(id)
  }
  await full.close()
  return id
}

describe('parley send --file / parley get', () => {
  const h = new CliHarness()
  afterEach(() => h.cleanup())

  it('[FCLI1] send --file through a serve exits 0 once another peer holds the message and manifest; get fetches it byte-identical; the always-on peer keeps it', async () => {
    const a = await h.serve(h.tmpDir())
    const b = await h.serve(await h.joined(a), ['--peer', a.addr])
    const path = join(h.tmpDir(), 'report.pdf')
    const bytes = new Uint8Array(randomBytes(3 * MiB + 77))
    writeFileSync(path, bytes)
    const sent = await h.run([
      'send',
      '--data',
      a.dir,
      '--room',
      'general',
      '--file',
      path,
      'the report',
    ])
    expect(sent.code, sent.stderr).toBe(0)
    const id = /file ([0-9a-f]{64}) held by (\S+)/.exec(sent.stdout)?.[1]
    expect(id).toBeDefined()
    expect(sent.stdout).toContain(`held by ${b.peerId}`)
    const read = await h.run(['read', '--data', b.dir, '--room', 'general', '--json'])
    expect(read.stdout).toContain(id)
    // B, an always-on peer, fetches the whole file in the background.
    await vi.waitFor(() => expect(heldIn(b.dir, id!)).toBe(4), { timeout: 60_000, interval: 100 })
    await a.stop()
    const out = join(h.tmpDir(), 'copy.pdf')
    const got = await h.run([
      'get',
      id!,
      '--out',
      out,
      '--data',
      await h.joined(a),
      '--peer',
      b.addr,
    ])
    expect(got.code, got.stderr).toBe(0)
    expect(Buffer.from(bytes).equals(readFileSync(out))).toBe(true)
    // and through a serve's control API
    const out2 = join(h.tmpDir(), 'copy2.pdf')
    const viaServe = await h.run(['get', id!, '--out', out2, '--data', b.dir, '--json'])
    expect(viaServe.code, viaServe.stderr).toBe(0)
    expect(JSON.parse(viaServe.stdout)).toMatchObject({ id, bytes: bytes.length })
    expect(Buffer.from(bytes).equals(readFileSync(out2))).toBe(true)
  }, 120_000) // starting peers, invitations and joins: several processes each

  it('[FCLI2] get resumes where it stopped after kill -9 of the receiver', async () => {
    const bytes = new Uint8Array(randomBytes(8 * MiB + 5))
    const partialDir = h.tmpDir()
    const id = await seed(partialDir, bytes, 4)
    const fullDir = h.tmpDir()
    expect(await seed(fullDir, bytes)).toBe(id)
    const partial = await h.serve(partialDir)
    // the receiver and the full copy's peer are of the partial peer's organisation
    const recvDir = await h.joined(partial)
    await h.joined(partial, {}, fullDir)
    const out = join(h.tmpDir(), 'big.bin')
    // Only the first half is to be had: the receiver stores it, then waits for the rest.
    const first = h.spawn(['get', id, '--out', out, '--data', recvDir, '--peer', partial.addr])
    await vi.waitFor(() => expect(heldIn(recvDir, id)).toBe(4), { timeout: 60_000, interval: 50 })
    first.kill('SIGKILL')
    expect((await first.exited).signal).toBe('SIGKILL')
    await partial.stop()
    const full = await h.serve(fullDir)
    const second = await h.run(['get', id, '--out', out, '--data', recvDir, '--peer', full.addr])
    expect(second.code, second.stderr).toBe(0)
    // It started from the 4 MiB it had (progress lines: "<state> <name> <held>/<size> MB …").
    const start = /fetching big\.bin ([\d.]+)\//.exec(second.stderr)?.[1]
    expect(Number(start)).toBeGreaterThanOrEqual((4 * MiB) / 1e6 - 0.1)
    expect(Buffer.from(bytes).equals(readFileSync(out))).toBe(true)
  }, 120_000) // starting peers, invitations and joins: several processes each

  it('[FCLI3] bad file arguments are usage errors', async () => {
    const d = h.tmpDir()
    expect((await h.run(['get', 'nothex', '--out', 'x', '--data', d])).code).toBe(2)
    expect((await h.run(['get', 'ab'.repeat(32), '--data', d])).code).toBe(2)
    expect((await h.run(['serve', '--file-quota', 'lots', '--data', d])).code).toBe(2)
  })
})
