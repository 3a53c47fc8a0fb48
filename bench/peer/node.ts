/**
 * One bench peer inside its process (a process may run several, each built here with nothing of
 * its own shared): SQLite store in the given data dir, libp2p on TCP 127.0.0.1
 * (mDNS off) behind a byte-counting PeerNet, and a Messenger — the same parts `src/node/peer.ts`
 * wires, plus an injectable author clock. Keys live in the store, so a data dir keeps its identity.
 */
import { settingOrCreate } from '../../src/core/store.ts'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createLibp2pNet, generateNetKey } from '../../src/net/libp2p.ts'
import { roomTopic } from '../../src/net/constants.ts'
import { Messenger } from '../../src/core/messenger.ts'
import { hex, type HistoryStore } from '../../src/core/store.ts'
import { createClock } from '../../src/crdt/hlc.ts'
import { openSqliteStore } from '../../src/node/sqlite-store.ts'
import { createNodeCrypto, createNodeSigner } from '../../src/node/crypto-node.ts'
import { DOCS_IDLE_MS } from '../../src/node/peer.ts'
import { countingNet, type CountingNet } from '../lib/counting-net.ts'
import { now } from '../lib/clock.ts'
import { Timings } from '../lib/instrument.ts'
import type { StartArgs, StartResult } from '../lib/protocol.ts'

export interface BenchPeer {
  net: CountingNet
  /** Time spent in the store, crypto and signer, per method. */
  timings: Timings
  /** Undefined for a bare-net peer. */
  messenger: Messenger | undefined
  store: HistoryStore | undefined
  info: StartResult
  stop(): Promise<void>
}

const listen = ['/ip4/127.0.0.1/tcp/0']

/**
 * State a command module keeps for each peer (a process may run several): `make` builds a peer's
 * the first time it is asked for.
 */
export function perPeer<T>(make: () => T): (peer: BenchPeer) => T {
  const by = new WeakMap<BenchPeer, T>()
  return (peer) => {
    let v = by.get(peer)
    if (v === undefined) by.set(peer, (v = make()))
    return v
  }
}

async function startNetOnly(args: StartArgs): Promise<BenchPeer> {
  const t0 = now()
  const net = countingNet(await createLibp2pNet({ listen, mdns: false }))
  for (const topic of args.recordTopics ?? []) net.recordTopic(topic)
  await net.start()
  const addr = net.addresses()[0] ?? ''
  return {
    net,
    timings: new Timings(),
    messenger: undefined,
    store: undefined,
    info: { peerId: net.peerId, addr, author: '', phases: { netStart: now() - t0 } },
    stop: () => net.stop(),
  }
}

export async function startBenchPeer(args: StartArgs): Promise<BenchPeer> {
  if (args.kind === 'net') return startNetOnly(args)
  const phases: Record<string, number> = {}
  let t = now()
  const lap = (name: string): void => {
    const n = now()
    phases[name] = n - t
    t = n
  }
  const timings = new Timings()
  const store = timings.wrap('store', openSqliteStore(join(args.dir, 'history.db')))
  const seed = await settingOrCreate(
    store,
    'device-key',
    async () => new Uint8Array(randomBytes(32)),
  )
  const netKey = await settingOrCreate(store, 'net-key', generateNetKey)
  lap('openStore')
  const net = countingNet(
    await createLibp2pNet({
      privateKey: netKey,
      listen,
      mdns: false,
      transports: 'node',
      ...(args.bootstrap === undefined ? {} : { bootstrap: args.bootstrap }),
    }),
  )
  for (const room of args.recordTopics ?? []) net.recordTopic(roomTopic(room))
  lap('createNet')
  let calls = 0
  const clock =
    args.clock === undefined
      ? undefined
      : createClock(() => args.clock!.startMs + calls++ * args.clock!.stepMs)
  const messenger = new Messenger({
    net,
    store,
    signer: timings.wrap('signer', createNodeSigner(seed)),
    // Each peer its own (the key cache too): peers sharing a process share nothing of Parley's.
    crypto: timings.wrap('crypto', createNodeCrypto()),
    name: `bench-${process.pid}`,
    retainAll: false,
    // as every Node peer (src/node/peer.ts): documents of rooms nobody reads stay out of memory
    docsIdleMs: DOCS_IDLE_MS,
    ...(clock === undefined ? {} : { clock }),
  })
  await net.start()
  lap('netStart')
  await messenger.start()
  lap('messengerStart')
  for (const room of args.rooms ?? []) await messenger.join(room)
  lap('join')
  let stopped = false
  return {
    net,
    timings,
    messenger,
    store,
    info: {
      peerId: net.peerId,
      addr: net.addresses()[0] ?? '',
      author: hex(messenger.identity.signer.publicKey),
      phases,
    },
    async stop() {
      if (stopped) return
      stopped = true
      try {
        await messenger.stop()
        await net.stop()
      } finally {
        await store.close()
      }
    },
  }
}
