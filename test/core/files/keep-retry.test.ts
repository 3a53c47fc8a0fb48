/**
 * An always-on peer keeps trying to keep a file it could not fetch the first time (issue #5, point
 * 4), between real peers (libp2p TCP on 127.0.0.1, disk stores): the uploader went away right after
 * posting and comes back; the disk was full and has room again.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PeerSet, connect, untilTexts, type TestPeer } from '../../helpers/peers.ts'
import { bytesSource } from '../../../src/core/files/import.ts'
import { DiskChunkStore } from '../../../src/node/file-store.ts'
import { FileStoreFullError } from '../../../src/core/files/errors.ts'
import type { ChunkStore } from '../../../src/core/files/store.ts'
import type { MessengerInit } from '../../../src/core/messenger.ts'
import type { PeerIdString } from '../../../src/net/index.ts'

const CHUNK = 64 * 1024
const tuning: NonNullable<MessengerInit['fileTuning']> = {
  chunkSize: CHUNK,
  fetch: { window: 2, batch: 2, idleMs: 1_500 },
}

async function collect(src: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const b of src) parts.push(b)
  return Buffer.concat(parts)
}

async function share(p: TestPeer, bytes: Uint8Array) {
  const att = await p.messenger.files.add(bytesSource(bytes), {
    name: 'plan.bin',
    type: 'application/octet-stream',
    size: bytes.length,
  })
  await p.messenger.share('general', att, 'the plan')
  return att
}

/** A disk store whose chunk writes fail with FileStoreFullError while `full` is set. */
function fillableStore(dir: string): ChunkStore & { full: boolean } {
  const inner = new DiskChunkStore({ dir })
  const store = Object.create(inner) as ChunkStore & { full: boolean }
  store.full = true
  for (const k of [
    'get',
    'manifestBytes',
    'add',
    'readChunk',
    'flush',
    'beginImport',
    'touch',
    'remove',
    'list',
    'close',
  ] as const) {
    ;(store as unknown as Record<string, unknown>)[k] = (
      inner[k] as (...a: unknown[]) => unknown
    ).bind(inner)
  }
  store.writeChunk = async (id, index, bytes) => {
    if (store.full) throw new FileStoreFullError('The disk of the file store is full (test)')
    return inner.writeChunk(id, index, bytes)
  }
  return store
}

const set = new PeerSet()
const dirs: string[] = []
afterEach(async () => {
  await set.teardown()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('always-on peers keep trying to keep files', () => {
  it('[KEEPR1] the uploader leaves right after posting; once it is back the always-on peer holds the whole file, and tries no more', async () => {
    // Retries on a timer only after 10 minutes: here only the uploader connecting can bring it.
    const keep = { retryMs: 600_000, maxRetryMs: 600_000 }
    const node = await set.add({ fileTuning: { ...tuning, keep } })
    const relay = await set.add({ fileTuning: tuning, retainAll: false })
    const uploader = await set.add({ fileTuning: tuning, retainAll: false })
    await relay.messenger.join('general')
    await connect(uploader, relay)
    const bytes = new Uint8Array(randomBytes(12 * CHUNK + 321))
    const att = await share(uploader, bytes)
    await untilTexts(relay, 'general', ['the plan'])
    await uploader.stop() // gone before the always-on peer ever saw the post

    // The post reaches the always-on peer through the relay, which does not hold the file.
    await node.messenger.join('general')
    await connect(node, relay)
    await untilTexts(node, 'general', ['the plan'])
    await vi.waitFor(
      () =>
        expect(node.messenger.files.keeping().pending).toMatchObject([
          { id: att.id, failures: 1, error: 'FileUnavailableError' },
        ]),
      { timeout: 20_000, interval: 50 },
    )
    expect(await node.messenger.files.has(att.id)).toBe(false)

    const back = set.track(await uploader.restart())
    await connect(back, node)
    await vi.waitFor(() => expect(node.messenger.files.keeping().kept).toBe(1), {
      timeout: 20_000,
      interval: 50,
    })
    expect(Buffer.from(bytes).equals(await collect(node.messenger.files.read(att.id)))).toBe(true)
    const after = node.messenger.files.keeping()
    expect(after).toMatchObject({ pending: [], refused: 0 })
    expect(after.attempts).toBe(2)

    // A peer connecting once it is kept starts no attempt. The queue follows peers before this
    // listener does, so once this listener saw the newcomer, the queue saw it too.
    const newcomer = await set.add({ fileTuning: tuning, retainAll: false })
    const seen = new Set<PeerIdString>()
    const off = node.net.onPeers((peers) => peers.forEach((p) => seen.add(p)))
    await connect(newcomer, node)
    await vi.waitFor(() => expect(seen.has(newcomer.net.peerId)).toBe(true))
    off()
    expect(node.messenger.files.keeping()).toMatchObject({ pending: [], attempts: 2, kept: 1 })
  })

  it('[KEEPR2] a keep that found the disk full is tried again on its own once there is room', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-keep-'))
    dirs.push(dir)
    const files = fillableStore(dir)
    const node = await set.add({
      fileTuning: { ...tuning, keep: { retryMs: 200, maxRetryMs: 200 } },
      files,
    })
    const uploader = await set.add({ fileTuning: tuning, retainAll: false })
    await connect(uploader, node)
    const bytes = new Uint8Array(randomBytes(6 * CHUNK + 5))
    const att = await share(uploader, bytes)
    await vi.waitFor(
      () =>
        expect(node.messenger.files.keeping().pending).toMatchObject([
          { id: att.id, error: 'FileStoreFullError' },
        ]),
      { timeout: 20_000, interval: 20 },
    )
    expect((await files.get(att.id))?.held).toBe(0)
    files.full = false // room again; no peer connects: the backoff alone brings the retry
    await vi.waitFor(() => expect(node.messenger.files.keeping().kept).toBe(1), {
      timeout: 20_000,
      interval: 50,
    })
    expect(Buffer.from(bytes).equals(await collect(node.messenger.files.read(att.id)))).toBe(true)
    expect(node.messenger.files.keeping().pending).toEqual([])
  })
})
