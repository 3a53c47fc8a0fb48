import { Socket } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createLibp2pNet, generateNetKey, peerIdOfKey } from '../../src/net/libp2p.ts'
import type { NetMessage, PeerNet } from '../../src/net/index.ts'
import { collect, libp2pFactory, rejection, text, until } from './helpers.ts'
import { registerPeerNetContract } from './peer-net.contract.ts'

const LOOPBACK_TCP = '/ip4/127.0.0.1/tcp/0'
const LOOPBACK_WS = '/ip4/127.0.0.1/tcp/0/ws'

registerPeerNetContract(
  'libp2p on TCP 127.0.0.1',
  libp2pFactory({ transports: 'node', listen: [LOOPBACK_TCP] }),
)

describe('libp2p on Node transports', () => {
  const nets: PeerNet[] = []
  afterEach(async () => {
    for (const net of nets.splice(0)) await net.stop()
  })
  async function create(init: Parameters<typeof createLibp2pNet>[0]): Promise<PeerNet> {
    const net = await createLibp2pNet({ mdns: false, ...init })
    nets.push(net)
    return net
  }

  it('a Node peer dials a WebSocket listener over /ws', async () => {
    const server = await create({ listen: [LOOPBACK_WS] })
    const client = await create({ listen: [LOOPBACK_TCP] })
    await server.start()
    await client.start()
    const wsAddr = server.addresses().find((a) => a.includes('/ws'))
    expect(wsAddr).toBeDefined()
    expect(await client.dial(wsAddr ?? '')).toBe(server.peerId)
    const conn = client.connections().find((c) => c.peer === server.peerId)
    expect(conn?.kind).toBe('direct')
    expect(conn?.addrs.some((a) => a.includes('/ws'))).toBe(true)

    server.handle(async function* (req) {
      yield req
    })
    expect(await collect(client.request(server.peerId, text('over ws')))).toEqual([text('over ws')])
    const got: NetMessage[] = []
    server.subscribe('ws-topic', (msg) => got.push(msg))
    await until(() => expect(client.topicPeers('ws-topic')).toEqual([server.peerId]))
    await client.publish('ws-topic', text('hi'))
    await until(() => expect(got).toHaveLength(1))
  })

  it('[GOSSIP1] a peer back (same key) while its old connection lingers still gets our gossip once the old one closes', async () => {
    // A peer killed and restarted at once: its new connection comes while ours to the old process
    // is still open (a kill -9 is noticed only by the link monitor). Gossipsub opens one outbound
    // stream per peer and none when it holds one already; the one it held was on the old link.
    const key = await generateNetKey()
    const b = await create({ listen: [LOOPBACK_TCP] })
    const old = await create({ privateKey: key, listen: [LOOPBACK_TCP] })
    await Promise.all([b.start(), old.start()])
    old.subscribe('t', () => undefined)
    await old.dial(b.addresses()[0] ?? '')
    await until(() => expect(b.topicPeers('t')).toEqual([old.peerId]))
    await until(async () => expect(await b.publish('t', text('to the old one'))).toBe(1))

    const back = await create({ privateKey: key, listen: [LOOPBACK_TCP] })
    await back.start()
    const got: NetMessage[] = []
    back.subscribe('t', (msg) => got.push(msg))
    await back.dial(b.addresses()[0] ?? '')
    await until(() =>
      expect(b.connections().find((c) => c.peer === back.peerId)?.addrs.length).toBe(2),
    )
    await old.stop()
    // once b has dropped the old link, what it publishes reaches the peer that came back
    await until(() =>
      expect(b.connections().find((c) => c.peer === back.peerId)?.addrs.length).toBe(1),
    )
    let sent = 0
    await until(async () => {
      await b.publish('t', text(`to the new one ${++sent}`))
      expect(got.length).toBeGreaterThanOrEqual(1)
    })
  })

  it('[BATCH1] what a peer sends in one go is one socket write, not two or three per frame', async () => {
    // Noise hands each frame over as length, ciphertext and tag, and @libp2p/tcp writes each
    // buffer on its own: 200 messages published at once were 400+ writes (syscalls) before
    // src/net/batched-connection.ts.
    const a = await create({ listen: [LOOPBACK_TCP] })
    const b = await create({ listen: [LOOPBACK_TCP] })
    await a.start()
    await b.start()
    const got: NetMessage[] = []
    b.subscribe('batch', (msg) => got.push(msg))
    await a.dial(b.addresses()[0] ?? '')
    await until(() => expect(a.topicPeers('batch')).toEqual([b.peerId]))
    const writes = vi.spyOn(Socket.prototype, 'write')
    try {
      await Promise.all(Array.from({ length: 200 }, (_, i) => a.publish('batch', text(`m${i}`))))
      await until(() => expect(got).toHaveLength(200))
      // Both peers' writes: a's messages, b's window updates and acknowledgements.
      expect(writes.mock.calls.length).toBeLessThan(50)
    } finally {
      writes.mockRestore()
    }
  })

  it('simultaneous dials both ways still make one peer, reported once', async () => {
    const a = await create({ listen: [LOOPBACK_TCP] })
    const b = await create({ listen: [LOOPBACK_TCP] })
    await Promise.all([a.start(), b.start()])
    const events: (readonly string[])[] = []
    a.onPeers((peers) => events.push(peers))
    await Promise.all([a.dial(b.addresses()[0] ?? ''), b.dial(a.addresses()[0] ?? '')])
    await until(() => expect(a.peers()).toEqual([b.peerId]))
    expect(events).toEqual([[b.peerId]])
    expect(a.connections()).toHaveLength(1)
    expect(a.connections()[0]?.addrs.length).toBeGreaterThanOrEqual(1)
  })

  it('a private key keeps the peer id across restarts and processes', async () => {
    const key = await generateNetKey()
    const first = await create({ privateKey: key, listen: [LOOPBACK_TCP] })
    expect(first.peerId).toBe(peerIdOfKey(key))
    await first.start()
    await first.stop()
    const second = await create({ privateKey: key, listen: [LOOPBACK_TCP] })
    expect(second.peerId).toBe(first.peerId)
    expect(() => peerIdOfKey(new Uint8Array([1, 2, 3]))).toThrow()
  })

  it('redials a lost bootstrap peer with backoff until stop', async () => {
    const key = await generateNetKey()
    const hub = await create({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'] })
    await hub.start()
    const hubAddr = hub.addresses()[0] ?? ''
    const port = /\/tcp\/(\d+)\//.exec(hubAddr)?.[1]
    const leaf = await create({ listen: [LOOPBACK_TCP], bootstrap: [hubAddr] })
    const seen: (readonly string[])[] = []
    leaf.onPeers((p) => seen.push(p))
    await leaf.start()
    await until(() => expect(leaf.peers()).toEqual([hub.peerId]))

    // The bootstrap peer goes away and comes back on the same address with the same id.
    await hub.stop()
    await until(() => expect(leaf.peers()).toEqual([]))
    const back = await create({ privateKey: key, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    await back.start()
    await until(() => expect(leaf.peers()).toEqual([hub.peerId]), 20_000)
    expect(seen).toEqual([[hub.peerId], [], [hub.peerId]])
  })

  it('rejects a malformed bootstrap address at creation', async () => {
    const err = await rejection(createLibp2pNet({ mdns: false, bootstrap: ['nonsense'] }))
    expect(err.name).toBe('InvalidMultiaddrError')
  })
})
