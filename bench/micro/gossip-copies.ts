/**
 * How many copies of each message a gossipsub peer receives, and how many frames it writes, in a
 * fully connected office LAN (issue #6 §7, the 1→10 row): N libp2p nodes in this one process on
 * TCP 127.0.0.1 (Noise + yamux), every pair connected, one author publishing `--msgs` 300-byte
 * messages. Counts do not depend on the machine's load, unlike the latency they cause.
 *
 * Two configurations: gossipsub's own mesh (D 6, 4–12, IDONTWANT from 512 bytes) with Parley's
 * other settings, and Parley's (`parleyGossipsub`, src/net/gossip.ts).
 *
 *   npx tsx bench/micro/gossip-copies.ts [--peers=11] [--msgs=200]
 */
import '../../src/node/polyfill.ts'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { messageId } from '../../src/net/message-id.ts'
import { parleyGossipsub } from '../../src/net/gossip.ts'

const arg = (name: string, dflt: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt)
const PEERS = arg('peers', 11)
const MSGS = arg('msgs', 200)
const TOPIC = 'parley/bench/copies'

type Node = Libp2p<{ pubsub: GossipSub }>
/** Gossipsub internals counted here (methods of its class, not of the interface it exports). */
interface Internals {
  handleReceivedMessage(...args: unknown[]): Promise<void>
  sendRpc(...args: unknown[]): boolean
  sendRpcInBatch(tosend: Set<string>, ...rest: unknown[]): void
  getMeshPeers(topic: string): string[]
}
interface Counts {
  copiesIn: number
  framesOut: number
}

/** gossipsub's defaults for the mesh and IDONTWANT, Parley's settings otherwise. */
const stockMesh = (): ReturnType<typeof gossipsub> =>
  gossipsub({
    globalSignaturePolicy: 'StrictNoSign',
    msgIdFn: (msg) => messageId(msg.topic, msg.data),
    allowPublishToZeroTopicPeers: true,
    ignoreDuplicatePublishError: true,
    emitSelf: false,
    floodPublish: true,
  })

function count(node: Node): Counts {
  const c: Counts = { copiesIn: 0, framesOut: 0 }
  const ps = node.services.pubsub as unknown as Internals
  const received = ps.handleReceivedMessage.bind(ps)
  ps.handleReceivedMessage = (...a) => {
    c.copiesIn++
    return received(...a)
  }
  const send = ps.sendRpc.bind(ps)
  ps.sendRpc = (...a) => {
    c.framesOut++
    return send(...a)
  }
  const batch = ps.sendRpcInBatch.bind(ps)
  ps.sendRpcInBatch = (tosend, ...rest) => {
    c.framesOut += tosend.size
    batch(tosend, ...rest)
  }
  return c
}

const heartbeat = (n: Node): Promise<void> =>
  new Promise((resolve) =>
    n.services.pubsub.addEventListener('gossipsub:heartbeat', () => resolve(), { once: true }),
  )

async function run(name: string, pubsub: () => ReturnType<typeof gossipsub>): Promise<void> {
  const nodes: Node[] = await Promise.all(
    Array.from({ length: PEERS }, () =>
      createLibp2p({
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        connectionManager: { inboundConnectionThreshold: 1000 },
        services: { identify: identify(), pubsub: pubsub() },
      }),
    ),
  )
  try {
    for (const [i, a] of nodes.entries())
      for (const b of nodes.slice(i + 1)) await a.dial(b.getMultiaddrs()[0]!)
    const got = nodes.map((n) => {
      const seen = new Set<string>()
      n.services.pubsub.subscribe(TOPIC)
      n.services.pubsub.addEventListener('gossipsub:message', (e) => seen.add(e.detail.msgId))
      return seen
    })
    const deadline = Date.now() + 30_000
    while (nodes.some((n) => n.services.pubsub.getSubscribers(TOPIC).length < PEERS - 1)) {
      if (Date.now() > deadline) throw new Error('peers never saw each other subscribe')
      await new Promise((r) => setTimeout(r, 50))
    }
    for (let i = 0; i < 3; i++) await Promise.all(nodes.map(heartbeat))
    const counts = nodes.map(count)
    const cpu0 = process.cpuUsage()
    const body = new Uint8Array(300)
    for (let i = 0; i < MSGS; i++) {
      new DataView(body.buffer).setUint32(0, i)
      await nodes[0]!.services.pubsub.publish(TOPIC, body)
      await new Promise((r) => setTimeout(r, 5))
    }
    while (got.slice(1).some((s) => s.size < MSGS)) {
      if (Date.now() > deadline + 60_000) throw new Error('messages missing')
      await new Promise((r) => setTimeout(r, 20))
    }
    await Promise.all(nodes.map(heartbeat)) // forwarded copies still in flight have landed
    const cpu = process.cpuUsage(cpu0)
    const rx = counts.slice(1)
    const per = (f: (c: Counts) => number): string =>
      (rx.reduce((s, c) => s + f(c), 0) / rx.length / MSGS).toFixed(2)
    const mesh = nodes.map(
      (n) => (n.services.pubsub as unknown as Internals).getMeshPeers(TOPIC).length,
    )
    console.log(
      `${name.padEnd(16)} mesh ${Math.min(...mesh)}–${Math.max(...mesh)} | per message, per receiver: ` +
        `copies in ${per((c) => c.copiesIn)}, frames out ${per((c) => c.framesOut)} | ` +
        `author frames out ${(counts[0]!.framesOut / MSGS).toFixed(2)}, copies back ${(counts[0]!.copiesIn / MSGS).toFixed(2)} | ` +
        `CPU ${(((cpu.user + cpu.system) / 1000 / MSGS) * 1).toFixed(2)} ms per message (all ${PEERS} peers)`,
    )
  } finally {
    for (const n of nodes) await n.stop()
  }
}

console.log(`${PEERS} peers, fully connected, ${MSGS} messages of 300 bytes from one author`)
await run('gossipsub mesh', stockMesh)
await run('Parley mesh', () => parleyGossipsub({ runOnLimitedConnection: false }))
