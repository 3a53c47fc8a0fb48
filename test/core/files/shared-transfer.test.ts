/**
 * One transfer, several waiters (real peers over TCP, disk chunk stores): a waiter's signal ends
 * only its own wait; the transfer stops once nobody waits, and goes on for an always-on peer's
 * keep when a user cancels.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { randomBytes } from 'node:crypto'
import { PeerSet, connect, type TestPeer } from '../../helpers/peers.ts'
import { bytesSource } from '../../../src/core/files/import.ts'
import { decodeFileFrame } from '../../../src/core/files/wire.ts'
import type { TransferProgress, TransferState } from '../../../src/core/files/progress.ts'
import type { FileTuning } from '../../../src/core/files/service.ts'

const CHUNK = 64 * 1024
const COUNT = 200
const tuning: FileTuning = {
  chunkSize: CHUNK,
  fetch: { window: 1, batch: 1, idleMs: 5_000 },
}

const set = new PeerSet()
afterEach(() => set.teardown())

async function collect(src: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const b of src) parts.push(b)
  return Buffer.concat(parts)
}

async function holderAndFile(bytes: Uint8Array): Promise<{ a: TestPeer; id: string }> {
  const a = await set.add({ fileTuning: tuning })
  const meta = { name: 'data.bin', type: 'application/octet-stream', size: bytes.length }
  const att = await a.messenger.files.add(bytesSource(bytes), meta)
  return { a, id: att.id }
}

/**
 * Counts the chunk requests `p` sends for each file; each leaves `paceMs` late (a slower link: on
 * loopback a fast machine fetches the 200 chunks in 0.2 s, before a test can act mid-transfer).
 */
function countChunkRequests(p: TestPeer, paceMs = 0): Map<string, number> {
  const counts = new Map<string, number>()
  const request = p.net.request.bind(p.net)
  p.net.request = (peer, bytes, opts) => {
    const f = decodeFileFrame(bytes)
    if (f.type !== 'chunks-request') return request(peer, bytes, opts)
    counts.set(f.id, (counts.get(f.id) ?? 0) + 1)
    if (paceMs === 0) return request(peer, bytes, opts)
    return (async function* paced() {
      await new Promise((resolve) => setTimeout(resolve, paceMs))
      yield* request(peer, bytes, opts)
    })()
  }
  return counts
}

/** Resolves with the first progress of `id` that `when` accepts. */
function progressOf(
  p: TestPeer,
  id: string,
  when: (t: TransferProgress) => boolean,
): Promise<TransferProgress> {
  return new Promise((resolve) => {
    const off = p.messenger.files.onProgress((t) => {
      if (t.id !== id || !when(t)) return
      off()
      resolve(t)
    })
  })
}

/** The states `id`'s transfer went through on `p`. */
function statesOf(p: TestPeer, id: string): TransferState[] {
  const states: TransferState[] = []
  p.messenger.files.onProgress((t) => {
    if (t.id === id && states.at(-1) !== t.state) states.push(t.state)
  })
  return states
}

describe('a transfer shared by several waiters', () => {
  it('[SHARED1] one waiter aborting rejects with AbortError; the other still gets the verified file', async () => {
    const bytes = new Uint8Array(randomBytes(COUNT * CHUNK))
    const { a, id } = await holderAndFile(bytes)
    const b = await set.add({ fileTuning: tuning, retainAll: false })
    await connect(b, a)
    const states = statesOf(b, id)
    const first = new AbortController()
    const second = new AbortController()
    // aborted from inside the progress event: the transfer is at 20 of 200 chunks then
    const off = b.messenger.files.onProgress((p) => p.bytes >= 20 * CHUNK && first.abort())
    const one = b.messenger.files.fetch(id, { signal: first.signal })
    const two = b.messenger.files.fetch(id, { signal: second.signal })
    await expect(one).rejects.toMatchObject({ name: 'AbortError' })
    off()
    await two
    expect(states).not.toContain('cancelled')
    expect(states.at(-1)).toBe('done')
    expect(Buffer.from(bytes).equals(await collect(b.messenger.files.read(id)))).toBe(true)
  })

  it('[SHARED2] once every waiter has aborted the transfer stops: no more chunks are asked for, and a new fetch resumes', async () => {
    const bytes = new Uint8Array(randomBytes(COUNT * CHUNK))
    const { a, id } = await holderAndFile(bytes)
    const b = await set.add({ fileTuning: tuning, retainAll: false })
    await connect(b, a)
    const asked = countChunkRequests(b, 10)
    const first = new AbortController()
    const second = new AbortController()
    const one = b.messenger.files.fetch(id, { signal: first.signal })
    const two = b.messenger.files.fetch(id, { signal: second.signal })
    await progressOf(b, id, (p) => p.bytes >= 10 * CHUNK)
    first.abort()
    await expect(one).rejects.toMatchObject({ name: 'AbortError' })
    const later = await progressOf(b, id, (p) => p.bytes >= 20 * CHUNK)
    expect(later.state).toBe('fetching') // still running for the second
    const cancelled = progressOf(b, id, (p) => p.state === 'cancelled')
    second.abort()
    await expect(two).rejects.toMatchObject({ name: 'AbortError' })
    await cancelled
    const atCancel = asked.get(id) ?? 0
    expect(atCancel).toBeLessThan(COUNT)

    // Another file fetched whole from the same holder: the cancelled one asked for nothing meanwhile.
    const other = new Uint8Array(randomBytes(8 * CHUNK))
    const meta = { name: 'other.bin', type: 'application/octet-stream', size: other.length }
    const att = await a.messenger.files.add(bytesSource(other), meta)
    await b.messenger.files.fetch(att.id)
    expect(asked.get(id)).toBe(atCancel)
    const held = (await b.files.get(id))!.held
    expect(held).toBeGreaterThanOrEqual(20)
    expect(held).toBeLessThan(COUNT)

    await b.messenger.files.fetch(id) // resumes
    expect(Buffer.from(bytes).equals(await collect(b.messenger.files.read(id)))).toBe(true)
    expect(asked.get(id)).toBeLessThanOrEqual(atCancel + COUNT - held)
  })

  it('[SHARED3] an always-on peer keeping a file: a user aborting or cancelling their download ends only their wait, the keep completes', async () => {
    const bytes = new Uint8Array(randomBytes(COUNT * CHUNK))
    const { a, id } = await holderAndFile(bytes)
    const b = await set.add({ fileTuning: tuning }) // retainAll: keeps files
    await connect(b, a)
    const states = statesOf(b, id)
    const started = progressOf(b, id, () => true)
    const done = progressOf(b, id, (p) => p.state === 'done')
    b.messenger.files.keep(id)
    await started // the keep's transfer runs
    const ac = new AbortController()
    const withSignal = b.messenger.files.fetch(id, { signal: ac.signal })
    const withoutSignal = b.messenger.files.fetch(id)
    await progressOf(b, id, (p) => p.bytes >= 10 * CHUNK)
    ac.abort()
    await expect(withSignal).rejects.toMatchObject({ name: 'AbortError' })
    b.messenger.files.cancel(id) // the user's cancel button
    await expect(withoutSignal).rejects.toMatchObject({ name: 'AbortError' })
    await done
    await vi.waitFor(() => expect(b.messenger.files.keeping().pending).toEqual([]))
    expect(states).not.toContain('cancelled')
    expect(states.at(-1)).toBe('done')
    expect(Buffer.from(bytes).equals(await collect(b.messenger.files.read(id)))).toBe(true)
  })

  it('[SHARED4] the user cancel stops a transfer nobody else waits on; an aborted signal never starts one', async () => {
    const bytes = new Uint8Array(randomBytes(COUNT * CHUNK))
    const { a, id } = await holderAndFile(bytes)
    const b = await set.add({ fileTuning: tuning, retainAll: false })
    await connect(b, a)
    const asked = countChunkRequests(b)
    const ac = new AbortController()
    ac.abort()
    await expect(b.messenger.files.fetch(id, { signal: ac.signal })).rejects.toMatchObject({
      name: 'AbortError',
    })
    expect(b.messenger.files.transfers()).toEqual([])
    const one = b.messenger.files.fetch(id)
    const two = b.messenger.files.fetch(id)
    await progressOf(b, id, (p) => p.bytes >= 10 * CHUNK)
    const cancelled = progressOf(b, id, (p) => p.state === 'cancelled')
    b.messenger.files.cancel(id)
    await expect(one).rejects.toMatchObject({ name: 'AbortError' })
    await expect(two).rejects.toMatchObject({ name: 'AbortError' })
    await cancelled
    expect(asked.get(id)).toBeLessThan(COUNT)
  })

  it("[SHARED5] a user fetch joining an always-on peer's unpinned keep pins the file it is fetching", async () => {
    const bytes = new Uint8Array(randomBytes(COUNT * CHUNK))
    const { a, id } = await holderAndFile(bytes)
    const b = await set.add({ fileTuning: tuning }) // retainAll: keeps files, unpinned
    await connect(b, a)
    b.messenger.files.keep(id)
    await progressOf(b, id, (p) => p.bytes >= 10 * CHUNK) // the keep's transfer runs
    expect((await b.files.get(id))!.pinned).toBe(false)
    const user = b.messenger.files.fetch(id) // pinned by default: joins the keep's transfer
    await vi.waitFor(async () => expect((await b.files.get(id))!.pinned).toBe(true))
    await user
    expect((await b.files.get(id))!).toMatchObject({ complete: true, pinned: true })
  })

  it('[SHARED6] a user fetch joining a keep before its manifest is stored: the file is pinned once held', async () => {
    const bytes = new Uint8Array(randomBytes(8 * CHUNK))
    const { a, id } = await holderAndFile(bytes)
    const b = await set.add({ fileTuning: tuning })
    await connect(b, a)
    const kept = b.messenger.files.fetch(id, { pinned: false })
    const user = b.messenger.files.fetch(id) // same tick: the manifest is not stored yet
    await Promise.all([kept, user])
    expect((await b.files.get(id))!).toMatchObject({ complete: true, pinned: true })

    const other = await a.messenger.files.add(bytesSource(bytes.slice(CHUNK)), {
      name: 'kept.bin',
      type: 'application/octet-stream',
      size: bytes.length - CHUNK,
    })
    await b.messenger.files.fetch(other.id, { pinned: false }) // alone: stays evictable
    expect((await b.files.get(other.id))!.pinned).toBe(false)
  })
})
