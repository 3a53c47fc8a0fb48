/**
 * The honest side of `bench/abuse.ts`: an organisation's office Node peer A (holding the root key,
 * certified as a peer) and members B, C, D, each a whole Parley peer (SQLite in a temporary
 * directory, Node crypto, libp2p over TCP on 127.0.0.1 with the org's network key and admission,
 * mDNS off), fully connected, all in the room. Records when each entry is applied on each peer.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createLibp2pNet } from '../../src/net/libp2p.ts'
import type { PeerNet } from '../../src/net/index.ts'
import { Messenger } from '../../src/core/messenger.ts'
import { Org } from '../../src/core/org.ts'
import { wireOrg } from '../../src/core/org-wiring.ts'
import type { OrgRoom } from '../../src/core/org-room.ts'
import { createRootStatement } from '../../src/core/org-join.ts'
import { entryKey } from '../../src/core/trace.ts'
import { openSqliteStore } from '../../src/node/sqlite-store.ts'
import { createNodeSigner, nodeCrypto } from '../../src/node/crypto-node.ts'
import type { DeviceSigner } from '../../src/crdt/crypto.ts'
import type { OrgRecord, RootStatement } from '../../src/crdt/org-records.ts'
import type { HistoryStore } from '../../src/core/store.ts'

export interface HonestPeer {
  messenger: Messenger
  net: PeerNet
  org: Org
  room: OrgRoom
  store: HistoryStore
  signer: DeviceSigner
  dir: string
}

export interface AbuseOrg {
  peers: HonestPeer[]
  networkKey: Uint8Array
  /** entry key → when `post()` was called (epoch ms). */
  sent: Map<string, number>
  /** `<peer index>:<entry key>` → when that peer applied it (epoch ms). */
  applied: Map<string, number>
  /** Stage → how many times any honest peer's trace was told it (src/core/trace.ts). */
  stages: Map<string, number>
  keyOf(p: HonestPeer, seq: number): string
  peerIndex(p: HonestPeer): number
  addr(p: HonestPeer): string
  /** A certificate for a new member (issued by A): what the attacker process needs. */
  newMember(): Promise<{
    root: RootStatement
    networkKey: Uint8Array
    records: OrgRecord[]
    seed: Uint8Array
    key: Uint8Array
  }>
  /** Resolves once every honest peer counts `key` as a member (bounded: 20 s). */
  untilMember(key: Uint8Array): Promise<void>
  /** Per honest peer: how many of `parley/1/room/spam-0..n-1` it records `peer` subscribed to. */
  countSpamTopics(peer: string, n: number): number[]
  stop(): Promise<void>
}

const now = (): number => performance.timeOrigin + performance.now()
const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const seed = (): Uint8Array => new Uint8Array(randomBytes(32))

async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms
  while (!ok()) {
    if (performance.now() > end) throw new Error(`abuse bench: timed out waiting for ${what}`)
    await tick(20)
  }
}

export async function startAbuseOrg(roomName: string): Promise<AbuseOrg> {
  const rootSigner = createNodeSigner(seed())
  const root = await createRootStatement(rootSigner, 'Abuse bench')
  const networkKey = new Uint8Array(randomBytes(32))
  const applied = new Map<string, number>()
  const stages = new Map<string, number>()
  const peers: HonestPeer[] = []

  async function add(
    signer: DeviceSigner,
    records: OrgRecord[],
    isRoot: boolean,
  ): Promise<HonestPeer> {
    const index = peers.length
    const dir = mkdtempSync(join(tmpdir(), 'parley-abuse-'))
    const store = openSqliteStore(join(dir, 'history.db'))
    const org = await Org.open(
      { crypto: nodeCrypto, root, networkKey, signer, ...(isRoot ? { rootSigner } : {}) },
      records,
    )
    const self: { net?: PeerNet } = {}
    const wiring = wireOrg(org, () => self.net!.peerId)
    const net = await createLibp2pNet({
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      networkKey: wiring.networkKey,
      admission: wiring.admission,
    })
    const messenger = new Messenger({
      net,
      store,
      signer,
      crypto: nodeCrypto,
      name: `honest-${index}`,
      retainAll: true,
      gate: wiring.gate,
      trace: (stage, key) => {
        stages.set(stage, (stages.get(stage) ?? 0) + 1)
        if (stage !== 'applied') return
        const k = `${index}:${key}`
        if (!applied.has(k)) applied.set(k, now())
      },
    })
    self.net = net
    await net.start()
    const room = await wiring.attach(messenger)
    await messenger.start()
    const p = { messenger, net, org, room, store, signer, dir }
    peers.push(p)
    return p
  }

  const aSigner = createNodeSigner(seed())
  const a = await add(aSigner, [], true)
  await a.org.issueCertificate({
    userId: 'office',
    name: 'Office',
    key: aSigner.publicKey,
    role: 'peer',
  })
  const addr = (p: HonestPeer): string => p.net.addresses().find((x) => x.includes('/tcp/'))!
  for (const name of ['bob', 'carol', 'dave']) {
    const signer = createNodeSigner(seed())
    const cert = await a.org.issueCertificate({
      userId: name,
      name,
      key: signer.publicKey,
      role: 'member',
    })
    await add(signer, [cert], false)
  }
  for (let i = 1; i < peers.length; i++)
    for (let j = 0; j < i; j++) await peers[i]!.net.dial(addr(peers[j]!))
  await until(
    () => peers.every((p) => p.net.peers().length >= peers.length - 1),
    20_000,
    'admission',
  )
  await until(
    () => peers.every((p) => peers.every((q) => p.org.isMember(q.signer.publicKey))),
    20_000,
    'membership',
  )
  // everyone holds the room and has seen one entry of each sender
  for (const p of peers.slice(1)) await p.messenger.post(roomName, 'hello')
  const shown = new Map<HonestPeer, number>()
  const poll = setInterval(() => {
    for (const p of peers)
      void p.messenger.messages(roomName).then(
        (m) => shown.set(p, m.filter((x) => x.text === 'hello').length),
        () => undefined,
      )
  }, 100)
  try {
    await until(() => peers.every((p) => shown.get(p) === 3), 20_000, 'first messages')
  } finally {
    clearInterval(poll)
  }

  return {
    peers,
    networkKey,
    sent: new Map(),
    applied,
    stages,
    keyOf: (p, seq) => entryKey(roomName, p.signer.publicKey, seq),
    peerIndex: (p) => peers.indexOf(p),
    addr,
    async newMember() {
      const s = seed()
      const key = createNodeSigner(s).publicKey
      const cert = await a.org.issueCertificate({
        userId: 'mallory',
        name: 'Mallory',
        key,
        role: 'member',
      })
      return { root, networkKey, records: [cert], seed: s, key }
    },
    async untilMember(key) {
      await until(() => peers.every((p) => p.org.isMember(key)), 20_000, 'the new member')
    },
    countSpamTopics(peer, n) {
      return peers.map((p) => {
        let count = 0
        for (let i = 0; i < n; i++)
          if (p.net.topicPeers(`parley/1/room/spam-${i}`).some((x) => x === peer)) count++
        return count
      })
    },
    async stop() {
      for (const p of peers.splice(0)) {
        p.room.stop()
        await p.messenger.stop().catch(() => undefined)
        await p.net.stop().catch(() => undefined)
        await p.store.close().catch(() => undefined)
        rmSync(p.dir, { recursive: true, force: true })
      }
    },
  }
}
