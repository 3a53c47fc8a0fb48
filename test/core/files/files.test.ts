/**
 * File sharing between real peers (libp2p TCP on 127.0.0.1, disk chunk stores): byte-identical
 * transfer, lying peers, several holders, long texts, cancel and resume, full disks.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PeerSet, connect, type TestPeer } from '../../helpers/peers.ts'
import { bytesSource } from '../../../src/core/files/import.ts'
import { DiskChunkStore } from '../../../src/node/file-store.ts'
import { copyInto, type ChunkStore } from '../../../src/core/files/store.ts'
import type { TransferProgress } from '../../../src/core/files/progress.ts'
import type { MessengerInit } from '../../../src/core/messenger.ts'
import { LONG_TEXT_BYTES } from '../../../src/core/files/long-text.ts'

const CHUNK = 64 * 1024
const tuning: MessengerInit['fileTuning'] = {
  chunkSize: CHUNK,
  fetch: { window: 2, batch: 2, idleMs: 5_000 },
}

/** A chunk store that counts chunk reads and touches, and can corrupt what it serves (a lying peer). */
function spyStore(inner: ChunkStore, lie = false): ChunkStore & { reads: number; touches: number } {
  const spy = Object.create(inner) as ChunkStore & { reads: number; touches: number }
  spy.reads = 0
  spy.touches = 0
  spy.readChunk = async (id, index, into) => {
    spy.reads++
    const bytes = (await inner.readChunk(id, index)).slice()
    if (lie) bytes[0] = bytes[0]! ^ 0xff
    return into === undefined ? bytes : copyInto(into, bytes)
  }
  for (const k of [
    'get',
    'manifestBytes',
    'add',
    'writeChunk',
    'flush',
    'beginImport',
    'remove',
    'list',
    'close',
  ] as const) {
    ;(spy as unknown as Record<string, unknown>)[k] = (
      inner[k] as (...a: unknown[]) => unknown
    ).bind(inner)
  }
  spy.touch = async (id) => {
    spy.touches++
    return inner.touch(id)
  }
  return spy
}

async function collect(src: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const b of src) parts.push(b)
  return Buffer.concat(parts)
}

async function addFile(p: TestPeer, bytes: Uint8Array, name = 'data.bin') {
  return p.messenger.files.add(bytesSource(bytes), {
    name,
    type: 'application/octet-stream',
    size: bytes.length,
  })
}

const set = new PeerSet()
const dirs: string[] = []
afterEach(async () => {
  await set.teardown()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('file sharing', () => {
  it('[FILE1] a shared file is fetched byte-identical, with its message and progress', async () => {
    const a = await set.add({ fileTuning: tuning })
    const b = await set.add({ fileTuning: tuning, retainAll: false })
    await connect(b, a)
    const bytes = new Uint8Array(randomBytes(3 * CHUNK * 7 + 1234))
    const att = await addFile(a, bytes, 'report.bin')
    const posted = await a.messenger.share('general', att, 'the report')
    expect(att).toMatchObject({ name: 'report.bin', size: bytes.length, kind: 'file' })
    await b.messenger.join('general')
    await vi.waitFor(
      async () => {
        const [m] = await b.messenger.messages('general')
        expect(m?.file).toEqual(att)
        expect(m?.id).toBe(posted.message.id)
      },
      { timeout: 10_000 },
    )
    const seen: TransferProgress[] = []
    b.messenger.files.onProgress((p) => seen.push(p))
    await b.messenger.files.fetch(att.id)
    expect(Buffer.from(bytes).equals(await collect(b.messenger.files.read(att.id)))).toBe(true)
    expect(seen.at(-1)).toMatchObject({
      state: 'done',
      bytes: bytes.length,
      size: bytes.length,
      name: 'report.bin',
    })
    expect(seen.some((p) => p.state === 'fetching')).toBe(true)
  })

  it('[FILE2] a chunk that does not match its hash is refused, its sender dropped, and the chunk fetched from another holder', async () => {
    const honest = spyStore(new DiskChunkStore({ dir: mkd() }))
    const liar = spyStore(new DiskChunkStore({ dir: mkd() }), true)
    const a = await set.add({ fileTuning: tuning, files: honest })
    const c = await set.add({ fileTuning: tuning, files: liar })
    const b = await set.add({ fileTuning: tuning, retainAll: false })
    const bytes = new Uint8Array(randomBytes(40 * CHUNK))
    const att = await addFile(a, bytes)
    expect((await addFile(c, bytes)).id).toBe(att.id)
    await connect(b, c)
    await connect(b, a)
    const lying: string[] = []
    b.messenger.files.onLyingPeer((p) => lying.push(p))
    await b.messenger.files.fetch(att.id)
    expect(Buffer.from(bytes).equals(await collect(b.messenger.files.read(att.id)))).toBe(true)
    expect(liar.reads).toBeGreaterThan(0)
    expect(lying).toEqual([c.net.peerId])
    expect(honest.reads).toBeGreaterThanOrEqual(40)
    // Marked used once, not once per request of 2 chunks (each touch is a durable write).
    expect(honest.touches).toBeGreaterThanOrEqual(1)
    expect(honest.touches).toBeLessThan(honest.reads / 4)
  })

  it('[FILE3] two holders serve one receiver at once', async () => {
    const s1 = spyStore(new DiskChunkStore({ dir: mkd() }))
    const s2 = spyStore(new DiskChunkStore({ dir: mkd() }))
    const a = await set.add({ fileTuning: tuning, files: s1 })
    const c = await set.add({ fileTuning: tuning, files: s2 })
    const b = await set.add({ fileTuning: tuning, retainAll: false })
    const bytes = new Uint8Array(randomBytes(48 * CHUNK + 5))
    const att = await addFile(a, bytes)
    await addFile(c, bytes)
    await connect(b, a)
    await connect(b, c)
    await b.messenger.files.fetch(att.id)
    expect(Buffer.from(bytes).equals(await collect(b.messenger.files.read(att.id)))).toBe(true)
    expect(s1.reads).toBeGreaterThan(0)
    expect(s2.reads).toBeGreaterThan(0)
    expect(s1.reads + s2.reads).toBe(49)
  })

  it('[FILE4] a 1 MB pasted text is sent whole, shown as a preview, and read back whole', async () => {
    const a = await set.add()
    const b = await set.add({ retainAll: false })
    await connect(b, a)
    const line = 'ERROR 2026-12-03T08:00:00Z worker-7: connection reset by peer ✓ ünïcödé 🚀\n'
    const text = line.repeat(Math.ceil(1_000_000 / line.length))
    expect(new TextEncoder().encode(text).length).toBeGreaterThan(LONG_TEXT_BYTES)
    await a.messenger.post('logs', text)
    await b.messenger.join('logs')
    let got: { text: string; id: string } | undefined
    await vi.waitFor(
      async () => {
        const [m] = await b.messenger.messages('logs')
        expect(m?.file?.kind).toBe('text')
        got = { text: m!.text, id: m!.file!.id }
      },
      { timeout: 10_000 },
    )
    expect(text.startsWith(got!.text)).toBe(true)
    expect(got!.text.length).toBeLessThan(text.length)
    expect(await b.messenger.files.readText(got!.id)).toBe(text)
  })

  it('[FILE5] a cancelled transfer keeps what it stored and resumes from there', async () => {
    const a = await set.add({ fileTuning: tuning })
    const b = await set.add({
      fileTuning: { ...tuning, fetch: { window: 1, batch: 1, idleMs: 5_000 } },
      retainAll: false,
    })
    await connect(b, a)
    const bytes = new Uint8Array(randomBytes(200 * CHUNK))
    const att = await addFile(a, bytes)
    const ac = new AbortController()
    const off = b.messenger.files.onProgress((p) => p.bytes >= 20 * CHUNK && ac.abort())
    const err = await b.messenger.files
      .fetch(att.id, { signal: ac.signal })
      .catch((e: unknown) => e)
    off()
    expect((err as Error).name).toBe('AbortError')
    await vi.waitFor(() => expect(b.messenger.files.transfers()[0]?.state).toBe('cancelled'))
    const held = (await b.files.get(att.id))!.held
    expect(held).toBeGreaterThanOrEqual(20)
    expect(held).toBeLessThan(200)
    const first: TransferProgress[] = []
    b.messenger.files.onProgress((p) => first.push(p))
    await b.messenger.files.fetch(att.id)
    expect(first[0]!.bytes).toBeGreaterThanOrEqual(held * CHUNK)
    expect(Buffer.from(bytes).equals(await collect(b.messenger.files.read(att.id)))).toBe(true)
  })

  it('[FILE6] a full disk pauses the transfer with FileStoreFullError and stores nothing corrupt; it resumes once there is room', async () => {
    const dir = mkd()
    const a = await set.add({ fileTuning: tuning })
    const bytes = new Uint8Array(randomBytes(10 * CHUNK))
    const att = await addFile(a, bytes)
    // Every write to the file's data ends in ENOSPC, as on a full disk.
    symlinkSync('/dev/full', join(dir, att.id))
    const store = new DiskChunkStore({ dir })
    const b = await set.add({ fileTuning: tuning, retainAll: false, files: store })
    await connect(b, a)
    const err = await b.messenger.files.fetch(att.id).catch((e: unknown) => e)
    expect((err as Error).name).toBe('FileStoreFullError')
    expect(b.messenger.files.transfers()[0]).toMatchObject({
      state: 'paused',
      error: { name: 'FileStoreFullError' },
    })
    expect((await store.get(att.id))?.held).toBe(0)
    await b.stop()
    rmSync(join(dir, att.id))
    const b2 = await set.add({
      fileTuning: tuning,
      retainAll: false,
      files: new DiskChunkStore({ dir }),
    })
    await connect(b2, a)
    await b2.messenger.files.fetch(att.id)
    expect(Buffer.from(bytes).equals(await collect(b2.messenger.files.read(att.id)))).toBe(true)
  })
  it('[FILE7] a fetch asked for before any holder is connected waits for one; with none it fails with FileUnavailableError', async () => {
    const quick = { ...tuning, fetch: { ...tuning!.fetch, idleMs: 1_500 } }
    const a = await set.add({ fileTuning: tuning })
    const b = await set.add({ fileTuning: quick, retainAll: false })
    const bytes = new Uint8Array(randomBytes(5 * CHUNK + 7))
    const att = await addFile(a, bytes)
    const nobody = b.messenger.files.fetch(att.id)
    await expect(nobody).rejects.toMatchObject({ name: 'FileUnavailableError' })

    const c = await set.add({
      fileTuning: { ...tuning, fetch: { ...tuning!.fetch, idleMs: 20_000 } },
    })
    const states: string[] = []
    c.messenger.files.onProgress((p) => states.push(p.state))
    const waiting = c.messenger.files.fetch(att.id)
    await vi.waitFor(() => expect(states).toContain('manifest'))
    await connect(c, a) // the holder comes online while the fetch waits
    await waiting
    expect(Buffer.from(bytes).equals(await collect(c.messenger.files.read(att.id)))).toBe(true)
  })
})

function mkd(): string {
  const d = mkdtempSync(join(tmpdir(), 'parley-files-'))
  dirs.push(d)
  return d
}
