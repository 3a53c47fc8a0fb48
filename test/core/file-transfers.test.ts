/**
 * The web app's file facade (src/core/file-transfers.ts) on two ParleyClients over the memory hub,
 * each with the browser's IndexedDB chunk store (fake-indexeddb): attach with upload progress, the
 * file as a Blob at the other peer, a cancelled upload, named errors in words.
 */
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryHub, type MemoryHub } from '../../src/net/memory.ts'
import { Messenger } from '../../src/core/messenger.ts'
import { ParleyClient } from '../../src/core/client.ts'
import { openIdbStore } from '../../src/core/idb-store.ts'
import { IdbChunkStore } from '../../src/core/idb-chunk-store.ts'
import { describeTransferError, type PickedFile } from '../../src/core/file-transfers.ts'
import { authorId } from '../../src/crdt/entry.ts'
import { createNobleSigner, nobleCrypto } from '../../src/crdt/crypto.ts'

const CHUNK = 16 * 1024
const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop()
})

async function peer(hub: MemoryHub, userId: string): Promise<ParleyClient> {
  const idb = new IDBFactory()
  const signer = createNobleSigner(new Uint8Array(randomBytes(32)))
  const store = await openIdbStore(`ft-${userId}`, idb)
  const files = await IdbChunkStore.open({ name: `ft-${userId}-files`, idb })
  const net = hub.createNet()
  const messenger = new Messenger({
    net,
    store,
    signer,
    crypto: nobleCrypto,
    name: userId,
    files,
    fileTuning: { chunkSize: CHUNK },
  })
  await net.start()
  await messenger.start()
  const client = new ParleyClient({
    messenger,
    store,
    account: { userId, name: userId, author: authorId(signer.publicKey) },
    fileBlob: (id, type) => files.fileBlob(id, type),
  })
  await client.start()
  stops.push(async () => {
    await client.stop()
    await messenger.stop()
    await net.stop()
    await store.close()
    await files.close()
  })
  return client
}

/** A picked file whose stream gives `bytes` in 10 KB pieces (then waits forever if `hang`). */
function picked(name: string, type: string, bytes: Uint8Array, hang?: () => void): PickedFile {
  let at = 0
  return {
    name,
    type,
    size: bytes.length,
    stream: () =>
      new ReadableStream<Uint8Array>({
        pull(c) {
          if (at < bytes.length) {
            c.enqueue(bytes.slice(at, (at += 10_000)))
            return
          }
          if (hang === undefined) return c.close()
          hang()
          return new Promise(() => undefined) // a disk that stopped answering
        },
      }),
  }
}

describe('FileTransfers', () => {
  it('[FT1] attach: upload progress to done, the message carries the thumbnail, the other peer gets the same bytes as a Blob', async () => {
    const hub = createMemoryHub()
    const a = await peer(hub, 'ann')
    const b = await peer(hub, 'ben')
    const bytes = new Uint8Array(randomBytes(5 * CHUNK + 123))
    const thumb = 'data:image/webp;base64,AAAA'
    const att = await a.files.attach('general', picked('a.png', 'image/png', bytes), { thumb })
    expect(att).toMatchObject({ name: 'a.png', size: bytes.length, type: 'image/png', thumb })
    const up = a.files.transfers().find((t) => t.direction === 'up')
    expect(up).toMatchObject({ state: 'done', bytes: bytes.length, size: bytes.length })
    const posted = (await a.messages('general')).at(-1)
    expect(posted?.file).toEqual(att)

    const blob = await b.files.blob(att)
    expect(blob.type).toBe('image/png')
    expect(Buffer.from(await blob.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true)
    expect(b.files.transfer(att.id)).toMatchObject({ direction: 'down', state: 'done' })
    expect(await b.files.has(att.id)).toBe(true)
  })

  it('[FT2] a cancelled upload rejects with AbortError, shows cancelled, and posts nothing', async () => {
    const a = await peer(createMemoryHub(), 'ann')
    let hung!: () => void
    const stalled = new Promise<void>((resolve) => (hung = resolve))
    const file = picked('big.bin', '', new Uint8Array(3 * CHUNK), hung)
    const pending = a.files.attach('general', file).catch((e: unknown) => e)
    await stalled
    a.files.cancel('up:1')
    expect(((await pending) as Error).name).toBe('AbortError')
    expect(a.files.transfer('up:1')).toMatchObject({ state: 'cancelled', direction: 'up' })
    expect((await a.messages('general')).some((m) => m.file !== undefined)).toBe(false)
    a.files.dismiss('up:1')
    expect(a.files.transfers()).toEqual([])
  })

  it('[FT3] a full disk is named in words the user can act on', () => {
    const full = describeTransferError({ name: 'FileStoreFullError', message: 'quota' })
    expect(full).toMatch(/^Disk full/)
    expect(describeTransferError({ name: 'Other', message: 'boom' })).toBe('boom')
  })
})
