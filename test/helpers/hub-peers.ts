/**
 * Whole Parley peers on the deterministic memory hub (`createMemoryHub()`): real messengers and
 * SQLite stores in temporary directories, gossip delivered on `hub.flush()`, partitions by hand.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'
import { createMemoryHub, type MemoryHub, type MemoryHubInit } from '../../src/net/memory.ts'
import type { PeerNet } from '../../src/net/index.ts'
import { Messenger, type MessengerInit } from '../../src/core/messenger.ts'
import { openSqliteStore } from '../../src/node/sqlite-store.ts'
import { nodeCrypto, createNodeSigner } from '../../src/node/crypto-node.ts'
import type { HistoryStore } from '../../src/core/store.ts'

export interface HubPeer {
  messenger: Messenger
  net: PeerNet
  store: HistoryStore
  dir: string
  stop(): Promise<void>
}

export class HubPeerSet {
  readonly hub: MemoryHub
  readonly peers: HubPeer[] = []

  constructor(init: MemoryHubInit = {}) {
    this.hub = createMemoryHub(init)
  }

  /** A started peer; `wrapStore` may put a faulty or spying store in front of its SQLite one. */
  async add(
    extra: Partial<MessengerInit> = {},
    wrapStore: (s: HistoryStore) => HistoryStore = (s) => s,
  ): Promise<HubPeer> {
    const dir = mkdtempSync(join(tmpdir(), 'parley-hub-'))
    const store = wrapStore(openSqliteStore(join(dir, 'history.db')))
    const net = this.hub.createNet()
    const messenger = new Messenger({
      net,
      store,
      signer: createNodeSigner(new Uint8Array(randomBytes(32))),
      crypto: nodeCrypto,
      name: `hub-${net.peerId}`,
      retainAll: true,
      antiEntropyMs: 60_000,
      ...extra,
    })
    await net.start()
    await messenger.start()
    let stopped = false
    const peer: HubPeer = {
      messenger,
      net,
      store,
      dir,
      async stop() {
        if (stopped) return
        stopped = true
        await messenger.stop()
        await net.stop()
        await store.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
    this.peers.push(peer)
    return peer
  }

  async teardown(): Promise<void> {
    this.hub.heal()
    for (const p of this.peers.splice(0)) await p.stop()
  }
}

/**
 * Every row of every table of the SQLite history in `dir`, as text (blobs in hex), in a stable
 * order: two dumps are equal exactly when the stored history is byte-identical.
 */
export function dumpHistoryDb(dir: string): string[] {
  const db = new Database(join(dir, 'history.db'), { readonly: true, fileMustExist: true })
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all() as { name: string }[]
    const out: string[] = []
    for (const { name } of tables) {
      const rows = db.prepare(`SELECT * FROM "${name}"`).raw().all() as unknown[][]
      const lines = rows.map((row) =>
        row.map((v) => (Buffer.isBuffer(v) ? `x'${v.toString('hex')}'` : JSON.stringify(v))),
      )
      out.push(...lines.map((cols) => `${name}: ${cols.join(' ')}`).sort())
    }
    return out
  } finally {
    db.close()
  }
}
