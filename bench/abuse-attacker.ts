/**
 * The attackers of `bench/abuse.ts`, in their own process (their CPU is not the honest peers'):
 * a member flooding a room, a member subscribing to 100,000 topics, and sybils without
 * certificates. Driven over IPC (advanced serialization: records carry Uint8Arrays); every loop
 * is bounded in count and time.
 */
import '../src/node/polyfill.ts'
import { randomBytes } from 'node:crypto'
import { createLibp2pNet } from '../src/net/libp2p.ts'
import { roomTopic, type Admission, type PeerNet } from '../src/net/index.ts'
import { MIN_ENTRY_BYTES } from '../src/crdt/entry.ts'
import { encodeFrame } from '../src/crdt/wire.ts'
import type { OrgRecord, RootStatement } from '../src/crdt/org-records.ts'
import { Org } from '../src/core/org.ts'
import { wireOrg } from '../src/core/org-wiring.ts'
import { createNodeSigner, nodeCrypto } from '../src/node/crypto-node.ts'

export type AttackerCommand =
  | {
      cmd: 'member'
      root: RootStatement
      networkKey: Uint8Array
      records: OrgRecord[]
      seed: Uint8Array
    }
  | { cmd: 'flood'; addrs: string[]; room: string; perSecond: number; seconds: number }
  | { cmd: 'subscribe'; addrs: string[]; count: number; seconds: number }
  | {
      cmd: 'sybils'
      addrs: string[]
      room: string
      n: number
      networkKey: Uint8Array
      seconds: number
    }
  | { cmd: 'stop' }

const now = (): number => performance.timeOrigin + performance.now()
const bytes = (n: number): Uint8Array => new Uint8Array(randomBytes(n))
const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

let member: { net: PeerNet; author: Uint8Array } | undefined
const sybils: PeerNet[] = []

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms
  while (!ok() && performance.now() < end) await tick(20)
  return ok()
}

async function startMember(c: Extract<AttackerCommand, { cmd: 'member' }>): Promise<unknown> {
  const signer = createNodeSigner(c.seed)
  const org = await Org.open(
    { crypto: nodeCrypto, root: c.root, networkKey: c.networkKey, signer },
    c.records,
  )
  const self: { net?: PeerNet } = {}
  const wiring = wireOrg(org, () => self.net!.peerId)
  const net = await createLibp2pNet({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    networkKey: wiring.networkKey,
    admission: wiring.admission,
  })
  self.net = net
  await net.start()
  member = { net, author: signer.publicKey }
  return { peerId: net.peerId }
}

/** Publishes push frames claiming the member's key as fast as `perSecond` allows, for `seconds`. */
async function flood(c: Extract<AttackerCommand, { cmd: 'flood' }>): Promise<unknown> {
  const { net, author } = member!
  const topic = roomTopic(c.room)
  net.subscribe(topic, () => undefined)
  for (const a of c.addrs) await net.dial(a).catch(() => undefined)
  const admitted = await until(() => net.topicPeers(topic).length >= c.addrs.length, 15_000)
  const frame = (seq: number): Uint8Array =>
    encodeFrame({
      type: 'push',
      room: c.room,
      head: { room: c.room, author, seq, hash: bytes(32), sig: bytes(64) },
      entries: [bytes(MIN_ENTRY_BYTES)],
    })
  const startedAt = now()
  const end = performance.now() + c.seconds * 1000
  const max = Math.ceil(c.perSecond * c.seconds)
  let sent = 0
  while (sent < max && performance.now() < end) {
    // every 10 ms, what the rate allows since the start
    const due = Math.min(max, Math.ceil(((now() - startedAt) / 1000) * c.perSecond))
    const batch: Promise<number>[] = []
    for (; sent < due; sent++) batch.push(net.publish(topic, frame(sent + 1)).catch(() => 0))
    await Promise.all(batch)
    await tick(10)
  }
  return { startedAt, sent, seconds: (now() - startedAt) / 1000, admitted }
}

/**
 * Subscribes the member to `count` topics, 500 per 100 ms (faster overflows its own stream), once
 * linked to every honest peer that lets it (the one it flooded may have cut it off for a while).
 */
async function subscribe(c: Extract<AttackerCommand, { cmd: 'subscribe' }>): Promise<unknown> {
  const { net } = member!
  for (const a of c.addrs) await net.dial(a).catch(() => undefined)
  const startedAt = now()
  const end = performance.now() + c.seconds * 1000
  let done = 0
  while (done < c.count && performance.now() < end) {
    for (const stop = Math.min(c.count, done + 500); done < stop; done++)
      net.subscribe(`parley/1/room/spam-${done}`, () => undefined)
    await tick(100)
  }
  return {
    startedAt,
    subscribed: done,
    seconds: (now() - startedAt) / 1000,
    linked: net.peers().length,
  }
}

/** `n` peers that know the network key but hold no certificate: they dial, subscribe, publish. */
async function runSybils(c: Extract<AttackerCommand, { cmd: 'sybils' }>): Promise<unknown> {
  const topic = roomTopic(c.room)
  const fake: Admission = { proof: () => bytes(200), verify: async () => true }
  for (let i = 0; i < c.n; i++) {
    const net = await createLibp2pNet({
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      networkKey: c.networkKey,
      admission: fake,
    })
    net.subscribe(topic, () => undefined)
    await net.start()
    sybils.push(net)
  }
  const startedAt = now()
  const end = performance.now() + c.seconds * 1000
  let dials = 0
  let published = 0
  let admittedMax = 0
  while (performance.now() < end) {
    for (const net of sybils) {
      for (const a of c.addrs) {
        if (performance.now() >= end) break
        dials++
        await net.dial(a).catch(() => undefined)
      }
      const frame = encodeFrame({
        type: 'push',
        room: c.room,
        head: { room: c.room, author: bytes(32), seq: 1, hash: bytes(32), sig: bytes(64) },
        entries: [bytes(MIN_ENTRY_BYTES)],
      })
      published += await net.publish(topic, frame).catch(() => 0)
      admittedMax = Math.max(admittedMax, net.peers().length)
    }
    await tick(100)
  }
  return {
    startedAt,
    dials,
    recipients: published,
    admittedMax,
    seconds: (now() - startedAt) / 1000,
  }
}

process.on('message', (m: AttackerCommand & { id: number }) => {
  const run = async (): Promise<unknown> => {
    switch (m.cmd) {
      case 'member':
        return startMember(m)
      case 'flood':
        return flood(m)
      case 'subscribe':
        return subscribe(m)
      case 'sybils':
        return runSybils(m)
      case 'stop':
        for (const n of [...sybils.splice(0), ...(member === undefined ? [] : [member.net])])
          await n.stop().catch(() => undefined)
        setTimeout(() => process.exit(0), 50).unref()
        return {}
    }
  }
  run().then(
    (result) => process.send!({ id: m.id, result }),
    (err: unknown) => process.send!({ id: m.id, error: String(err) }),
  )
})
