/**
 * An always-on (or one-shot CLI) Parley peer on Node: data directory, SQLite history, libp2p,
 * the messenger. `startPeer` is the one place the Node side wires them together.
 */
import { settingOrCreate } from '../core/store.ts'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createLibp2pNet, generateNetKey } from '../net/libp2p.ts'
import { Messenger, type MessengerInit } from '../core/messenger.ts'
import { nodeCrypto, createNodeSigner } from './crypto-node.ts'
import { openSqliteStore } from './sqlite-store.ts'
import { lockDataDir } from './data-dir.ts'
import { DiskChunkStore } from './file-store.ts'
import type { HistoryStore } from '../core/store.ts'
import { hostname, userInfo } from 'node:os'

export interface PeerOptions {
  dataDir: string
  /** libp2p listen multiaddrs. @default TCP on all interfaces, an ephemeral port */
  listen?: string[]
  /** @default true */
  mdns?: boolean
  /** Multiaddrs to dial at start and keep dialing. */
  peers?: string[]
  /** Always-on peers hold every room. @default false */
  retainAll?: boolean
  name?: string
  antiEntropyMs?: number
  /** Bytes of shared files kept at most (`--file-quota`). @default unlimited */
  fileQuota?: number
  /** Transfer tuning (bench). */
  fileTuning?: MessengerInit['fileTuning']
}

export interface NodePeer {
  messenger: Messenger
  store: HistoryStore
  files: DiskChunkStore
  stop(): Promise<void>
}

export async function startPeer(opts: PeerOptions): Promise<NodePeer> {
  const lock = lockDataDir(opts.dataDir)
  let store: HistoryStore | undefined
  let files: DiskChunkStore | undefined
  try {
    store = openSqliteStore(join(opts.dataDir, 'history.db'))
    files = new DiskChunkStore({
      dir: join(opts.dataDir, 'files'),
      ...(opts.fileQuota === undefined ? {} : { quota: opts.fileQuota }),
    })
    const seed = await settingOrCreate(
      store,
      'device-key',
      async () => new Uint8Array(randomBytes(32)),
    )
    const netKey = await settingOrCreate(store, 'net-key', generateNetKey)
    const net = await createLibp2pNet({
      privateKey: netKey,
      listen: opts.listen ?? ['/ip4/0.0.0.0/tcp/0'],
      mdns: opts.mdns ?? true,
      bootstrap: opts.peers ?? [],
      transports: 'node',
    })
    const messenger = new Messenger({
      net,
      store,
      signer: createNodeSigner(seed),
      crypto: nodeCrypto,
      name: opts.name ?? `${userInfo().username}@${hostname()}`,
      retainAll: opts.retainAll ?? false,
      files,
      ...(opts.fileTuning === undefined ? {} : { fileTuning: opts.fileTuning }),
      ...(opts.antiEntropyMs === undefined ? {} : { antiEntropyMs: opts.antiEntropyMs }),
    })
    await net.start()
    await messenger.start()
    const s = store
    const f = files
    let stopped = false
    return {
      messenger,
      store: s,
      files: f,
      async stop() {
        if (stopped) return
        stopped = true
        try {
          await messenger.stop()
          await net.stop()
        } finally {
          await f.close()
          await s.close()
          lock.release()
        }
      },
    }
  } catch (err) {
    await files?.close()
    await store?.close()
    lock.release()
    throw err
  }
}
