/**
 * Whole Parley peers for integration tests: real libp2p (TCP on 127.0.0.1, mDNS off), SQLite
 * stores in temporary directories, Node crypto.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { vi } from 'vitest'
import { createLibp2pNet, generateNetKey, type Libp2pNetInit } from '../../src/net/libp2p.ts'
import type { PeerNet } from '../../src/net/index.ts'
import { Messenger, type MessengerInit } from '../../src/core/messenger.ts'
import { openSqliteStore } from '../../src/node/sqlite-store.ts'
import { nodeCrypto, createNodeSigner } from '../../src/node/crypto-node.ts'
import type { HistoryStore } from '../../src/core/store.ts'
import { DiskChunkStore } from '../../src/node/file-store.ts'
import type { ChunkStore } from '../../src/core/files/store.ts'

export interface TestPeer {
  messenger: Messenger
  net: PeerNet
  store: HistoryStore
  /** The peer's chunk store (`<dir>/files` unless the test gave one). */
  files: ChunkStore
  dir: string
  /** Stops the peer, keeping its directory and keys, so that `restart` brings it back. */
  stop(): Promise<void>
  restart(): Promise<TestPeer>
}

interface Keys {
  seed: Uint8Array
  netKey: Uint8Array
}

export async function startTestPeer(
  dir = mkdtempSync(join(tmpdir(), 'parley-peer-')),
  keys?: Keys,
  extra: Partial<MessengerInit> = {},
  netInit: Libp2pNetInit = {},
): Promise<TestPeer> {
  const k = keys ?? { seed: new Uint8Array(randomBytes(32)), netKey: await generateNetKey() }
  const store = openSqliteStore(join(dir, 'history.db'))
  const files = extra.files ?? new DiskChunkStore({ dir: join(dir, 'files') })
  const net = await createLibp2pNet({
    privateKey: k.netKey,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    ...netInit,
  })
  const messenger = new Messenger({
    net,
    store,
    signer: createNodeSigner(k.seed),
    crypto: nodeCrypto,
    name: `peer-${dir.slice(-6)}`,
    retainAll: true,
    antiEntropyMs: 60_000,
    ...extra,
    files,
  })
  await net.start()
  await messenger.start()
  let stopped = false
  const peer: TestPeer = {
    messenger,
    net,
    store,
    files,
    dir,
    async stop() {
      if (stopped) return
      stopped = true
      await messenger.stop()
      await net.stop()
      await files.close()
      await store.close()
    },
    async restart() {
      await peer.stop()
      return startTestPeer(dir, k, extra, netInit)
    },
  }
  return peer
}

export class PeerSet {
  readonly peers: TestPeer[] = []
  readonly dirs: string[] = []

  async add(extra: Partial<MessengerInit> = {}, netInit: Libp2pNetInit = {}): Promise<TestPeer> {
    const p = await startTestPeer(undefined, undefined, extra, netInit)
    this.peers.push(p)
    this.dirs.push(p.dir)
    return p
  }

  track(p: TestPeer): TestPeer {
    this.peers.push(p)
    return p
  }

  async teardown(): Promise<void> {
    for (const p of this.peers.splice(0)) await p.stop()
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  }
}

/** Connects `a` to `b` and waits until both see each other. */
export async function connect(a: TestPeer, b: TestPeer): Promise<void> {
  const addr = b.net.addresses().find((x) => x.includes('/tcp/'))
  if (addr === undefined) throw new Error('peer has no TCP address')
  await a.net.dial(addr)
  await vi.waitFor(() => {
    if (!a.net.peers().includes(b.net.peerId) || !b.net.peers().includes(a.net.peerId)) {
      throw new Error('not connected yet')
    }
  })
}

/** Waits until `room` on `p` shows exactly `texts` (in that order). */
export async function untilTexts(
  p: TestPeer,
  room: string,
  texts: readonly string[],
  timeout = 20_000,
): Promise<void> {
  await vi.waitFor(
    async () => {
      const got = (await p.messenger.messages(room)).map((m) => m.text)
      if (JSON.stringify(got) !== JSON.stringify(texts)) {
        throw new Error(`have ${got.length}/${texts.length}`)
      }
    },
    { timeout, interval: 20 },
  )
}
