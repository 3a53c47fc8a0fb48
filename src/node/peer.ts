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
import type { PeerIdString } from '../net/index.ts'
import type { Org } from '../core/org.ts'
import type { OrgRoom } from '../core/org-room.ts'
import { wireOrg } from '../core/org-wiring.ts'
import { createOrgIn, openOrg, orgAddrs } from './org-node.ts'

export interface PeerOptions {
  dataDir: string
  /** libp2p listen multiaddrs. @default TCP on all interfaces, an ephemeral port */
  listen?: string[]
  /** @default true */
  mdns?: boolean
  /** TCP port of the bulk side channel (src/net/bulk.ts), on the hosts of `listen`. @default random */
  bulkPort?: number
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
  /** Create an org with this name if the directory has none (`serve --org NAME`). */
  createOrg?: string
  /** See `MessengerInit.docsIdleMs`. @default {@link DOCS_IDLE_MS} */
  docsIdleMs?: number
}

/**
 * A Node peer shows no room unless asked (`read`, the control API), so a room's documents are
 * unloaded once nobody has read or written it for this long, and built again on the next read.
 */
export const DOCS_IDLE_MS = 5 * 60_000

export interface NodePeer {
  messenger: Messenger
  store: HistoryStore
  files: DiskChunkStore
  /** The directory's org (undefined: an open peer, outside any org). */
  org: Org | undefined
  /** The org's `sys.org` binding, when there is an org. */
  orgRoom: OrgRoom | undefined
  /**
   * Set when this run made the org (`createOrg`): how many rooms of history the directory held
   * from before (a directory made before organisations existed), so the operator can be told.
   */
  created: { priorRooms: number } | undefined
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
    const signer = createNodeSigner(seed)
    const name = opts.name ?? `${userInfo().username}@${hostname()}`
    let org = await openOrg(store, signer)
    let created: { priorRooms: number } | undefined
    if (org === undefined && opts.createOrg !== undefined) {
      created = { priorRooms: (await store.rooms()).length }
      org = await createOrgIn(store, signer, opts.createOrg, name)
    }
    let peerId = (): PeerIdString => {
      throw new Error('no peer id yet')
    }
    const wiring = org === undefined ? undefined : wireOrg(org, () => peerId())
    const net = await createLibp2pNet({
      privateKey: netKey,
      listen: opts.listen ?? ['/ip4/0.0.0.0/tcp/0'],
      mdns: opts.mdns ?? true,
      bootstrap: [...(opts.peers ?? []), ...(await orgAddrs(store))],
      transports: 'node',
      ...(opts.bulkPort === undefined ? {} : { bulk: { port: opts.bulkPort } }),
      ...(wiring === undefined
        ? {}
        : { admission: wiring.admission, networkKey: wiring.networkKey }),
    })
    peerId = () => net.peerId
    const messenger = new Messenger({
      net,
      store,
      signer,
      crypto: nodeCrypto,
      name,
      retainAll: opts.retainAll ?? false,
      docsIdleMs: opts.docsIdleMs ?? DOCS_IDLE_MS,
      files,
      // Chunks are checked with node:crypto in the thread: WebCrypto's thread-pool digest saved
      // the event loop half of the hashing but added as much in garbage collection, and cost more
      // CPU in all (docs/benchmarks.md, "Node → Node file throughput and memory").
      fileTuning: { ...opts.fileTuning, sha256Async: undefined },
      ...(opts.antiEntropyMs === undefined ? {} : { antiEntropyMs: opts.antiEntropyMs }),
      ...(wiring === undefined ? {} : { gate: wiring.gate }),
    })
    await net.start()
    const orgRoom = await wiring?.attach(messenger)
    await messenger.start()
    const s = store
    const f = files
    let stopped = false
    return {
      messenger,
      store: s,
      files: f,
      org,
      orgRoom,
      created,
      async stop() {
        if (stopped) return
        stopped = true
        try {
          orgRoom?.stop()
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
