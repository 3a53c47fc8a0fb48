/**
 * Files in private rooms over real libp2p (TCP on 127.0.0.1, Noise): chunks are sealed with a
 * per-file key carried in the (sealed) message, so an always-on Node peer that is not a member
 * keeps and serves ciphertext only — content addressing and chunk checks still work for it — and a
 * member fetches the file from that peer alone and opens it, through the web app's facade
 * (src/core/file-transfers.ts) over the browser's IndexedDB chunk store. Formats:
 * src/crdt/file-seal.ts; streaming: src/core/files/sealed.ts.
 */
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PeerSet, connect, type TestPeer } from '../helpers/peers.ts'
import { FileTransfers, type PickedFile } from '../../src/core/file-transfers.ts'
import { IdbChunkStore } from '../../src/core/idb-chunk-store.ts'
import { bytesSource } from '../../src/core/files/import.ts'
import type { DisplayMessage } from '../../src/crdt/display.ts'
import { addLocalFile, writeLocalFile } from '../../src/node/file-io.ts'

const tuning = { chunkSize: 64 * 1024 }
const WAIT = { timeout: 20_000, interval: 50 }
const SECRET = 'CONFIDENTIAL merger terms'

/** Every byte of every file under `dir` (the chunk store's database and chunk files). */
function bytesUnder(dir: string): Buffer {
  const out: Buffer[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    out.push(statSync(p).isDirectory() ? bytesUnder(p) : readFileSync(p))
  }
  return Buffer.concat(out)
}

function picked(name: string, type: string, bytes: Uint8Array): PickedFile {
  let at = 0
  return {
    name,
    type,
    size: bytes.length,
    stream: () =>
      new ReadableStream<Uint8Array>({
        pull(c) {
          if (at < bytes.length) c.enqueue(bytes.slice(at, (at += 10_000)))
          else c.close()
        },
      }),
  }
}

/** ~300 KB of lines that each name the secret: any plaintext piece on a disk would show. */
function document(): Uint8Array {
  const lines: string[] = []
  for (let i = 0; i < 9000; i++) lines.push(`${i}: ${SECRET} clause ${(i * 7919) % 10007}`)
  return new TextEncoder().encode(lines.join('\n'))
}

async function messageWith(p: TestPeer, room: string, id: string): Promise<DisplayMessage> {
  let found: DisplayMessage | undefined
  await vi.waitFor(async () => {
    found = (await p.messenger.messages(room)).find((m) => m.file?.id === id)
    expect(found).toBeDefined()
  }, WAIT)
  return found!
}

describe('files in private rooms', () => {
  const set = new PeerSet()
  afterEach(() => set.teardown())

  it('[E2EEFILE1] a non-member node keeps and serves ciphertext only; a member fetches from it alone and opens the file (browser facade)', async () => {
    const node = await set.add({ retainAll: true, fileTuning: tuning })
    const a = await set.add({ retainAll: false, fileTuning: tuning })
    const idbFiles = await IdbChunkStore.open({ name: 'sealed-b', idb: new IDBFactory() })
    const b = await set.add({ retainAll: false, fileTuning: tuning, files: idbFiles })
    await connect(a, node)
    await connect(b, node)
    const room = await a.messenger.encrypted.createPrivateRoom({
      name: 'Deal',
      members: [b.messenger.authorId],
    })
    const plain = document()

    const att = await new FileTransfers({ messenger: a.messenger }).attach(
      room,
      picked('terms.txt', 'text/plain', plain),
    )
    expect(att.key).toMatch(/^[0-9a-f]{64}$/)
    expect({ name: att.name, size: att.size, type: att.type }).toEqual({
      name: 'terms.txt',
      size: plain.length,
      type: 'text/plain',
    })

    // the node is offered the sealed file and keeps it whole: chunks verified by their hashes
    await vi.waitFor(async () => expect(await node.messenger.files.has(att.id)).toBe(true), WAIT)
    const info = (await node.files.get(att.id))!
    expect({ name: info.manifest.name, type: info.manifest.type }).toEqual({
      name: 'sealed.bin',
      type: '',
    })
    const served: Buffer[] = []
    for await (const c of node.messenger.files.read(att.id)) served.push(Buffer.from(c))
    expect(Buffer.concat(served).indexOf(SECRET)).toBe(-1)
    expect(await node.messenger.messages(room)).toEqual([])
    const disk = bytesUnder(join(node.dir, 'files'))
    expect(disk.length).toBeGreaterThan(plain.length)
    expect(disk.indexOf(SECRET)).toBe(-1)
    expect(disk.indexOf('terms.txt')).toBe(-1)
    // the sharer's own store holds ciphertext too; the test would see plaintext on a member's disk
    expect(bytesUnder(join(a.dir, 'files')).indexOf(SECRET)).toBe(-1)

    // b reads the message, the sharer leaves, b fetches the file from the node alone and opens it
    await b.messenger.join(room)
    const m = await messageWith(b, room, att.id)
    await a.stop()
    const facade = new FileTransfers({
      messenger: b.messenger,
      fileBlob: (id, type) => idbFiles.fileBlob(id, type),
    })
    const blob = await facade.blob(m.file!)
    expect(Buffer.compare(Buffer.from(await blob.arrayBuffer()), Buffer.from(plain))).toBe(0)
    expect(blob.type).toBe('text/plain')
    // without the key the stored bytes stay ciphertext
    const raw = await (await idbFiles.fileBlob(att.id, '')).arrayBuffer()
    expect(Buffer.from(raw).indexOf(SECRET)).toBe(-1)
  })

  it('[E2EEFILE2] long texts in a private room are sealed too; an unsealed file is refused there', async () => {
    const node = await set.add({ retainAll: true, fileTuning: tuning })
    const [a, b] = [
      await set.add({ retainAll: false, fileTuning: tuning }),
      await set.add({ retainAll: false, fileTuning: tuning }),
    ]
    await connect(a, node)
    await connect(b, node)
    const room = await a.messenger.encrypted.createPrivateRoom({
      name: 'Logs',
      members: [b.messenger.authorId],
    })
    const meta = { name: 'plain.txt', type: 'text/plain', size: 5 }
    const unsealed = await a.messenger.files.add(
      bytesSource(new TextEncoder().encode('hello')),
      meta,
    )
    await expect(a.messenger.share(room, unsealed)).rejects.toMatchObject({
      name: 'UnsealedFileError',
    })

    const long = new TextDecoder().decode(document())
    const posted = await a.messenger.post(room, long)
    const file = posted.message.file!
    expect(file.kind).toBe('text')
    expect(file.key).toMatch(/^[0-9a-f]{64}$/)
    await vi.waitFor(async () => expect(await node.messenger.files.has(file.id)).toBe(true), WAIT)
    await b.messenger.join(room)
    const m = await messageWith(b, room, file.id)
    expect(await b.messenger.files.readText(file.id, undefined, m.file!.key)).toBe(long)
    expect(bytesUnder(join(node.dir, 'files')).indexOf(SECRET)).toBe(-1)
  })

  it('[E2EEFILE3] parley send/get in a private room: the file is sealed on the way in and opened on the way out', async () => {
    const node = await set.add({ retainAll: true, fileTuning: tuning })
    const [a, b] = [
      await set.add({ retainAll: false, fileTuning: tuning }),
      await set.add({ retainAll: false, fileTuning: tuning }),
    ]
    await connect(a, node)
    await connect(b, node)
    const room = await a.messenger.encrypted.createPrivateRoom({
      name: 'Cli',
      members: [b.messenger.authorId],
    })
    const plain = document()
    const src = join(a.dir, 'terms.txt')
    writeFileSync(src, plain)
    const att = await addLocalFile(a.messenger, src, room)
    expect(att.key).toMatch(/^[0-9a-f]{64}$/)
    await a.messenger.share(room, att)
    await vi.waitFor(async () => expect(await node.messenger.files.has(att.id)).toBe(true), WAIT)
    await b.messenger.join(room)
    await messageWith(b, room, att.id)
    await a.stop()
    await b.messenger.files.fetch(att.id)
    const out = join(b.dir, 'got.txt')
    expect(await writeLocalFile(b.messenger, att.id, out)).toBe(plain.length)
    expect(Buffer.compare(readFileSync(out), Buffer.from(plain))).toBe(0)
    expect(bytesUnder(join(node.dir, 'files')).indexOf(SECRET)).toBe(-1)
  })
})
