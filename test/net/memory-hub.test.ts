import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryHub } from '../../src/net/memory.ts'
import type { NetMessage, PeerNet } from '../../src/net/index.ts'
import { memoryHubFactory, collect, rejection, text } from './helpers.ts'
import { registerPeerNetContract } from './peer-net.contract.ts'

registerPeerNetContract('memory hub', memoryHubFactory())

describe('memory hub', () => {
  const started: PeerNet[] = []
  afterEach(async () => {
    await Promise.all(started.splice(0).map((net) => net.stop()))
  })
  async function nets(n: number, hub = createMemoryHub()): Promise<PeerNet[]> {
    const out = Array.from({ length: n }, () => hub.createNet())
    await Promise.all(out.map((net) => net.start()))
    started.push(...out)
    return out
  }

  it('queues messages until flush()', async () => {
    const hub = createMemoryHub()
    const [a, b] = (await nets(2, hub)) as [PeerNet, PeerNet]
    const got: NetMessage[] = []
    b.subscribe('t', (msg) => got.push(msg))
    expect(await a.publish('t', text('1'))).toBe(1)
    expect(await a.publish('t', text('2'))).toBe(1)
    expect(hub.pending()).toBe(2)
    expect(got).toHaveLength(0)
    await hub.flush()
    expect(got.map((m) => m.data)).toEqual([text('1'), text('2')])
    expect(hub.pending()).toBe(0)
  })

  it('forwards through subscribers: a line a–b–c still delivers a → c, once', async () => {
    const hub = createMemoryHub({ autoConnect: false })
    const [a, b, c] = (await nets(3, hub)) as [PeerNet, PeerNet, PeerNet]
    hub.connect(a.peerId, b.peerId)
    hub.connect(b.peerId, c.peerId)
    const atB: NetMessage[] = []
    const atC: NetMessage[] = []
    b.subscribe('t', (msg) => atB.push(msg))
    c.subscribe('t', (msg) => atC.push(msg))
    await a.publish('t', text('hop'))
    await hub.flush()
    expect(atB).toHaveLength(1)
    expect(atC.map((m) => m.from)).toEqual([b.peerId])
  })

  it('partition() cuts links both ways and heal() restores them', async () => {
    const hub = createMemoryHub()
    const [a, b, c] = (await nets(3, hub)) as [PeerNet, PeerNet, PeerNet]
    const peerEvents: (readonly string[])[] = []
    a.onPeers((peers) => peerEvents.push(peers))
    c.handle(async function* () {
      yield text('pong')
    })
    const atC: NetMessage[] = []
    c.subscribe('t', (msg) => atC.push(msg))

    hub.partition([a.peerId], [b.peerId, c.peerId])
    expect(a.peers()).toEqual([])
    expect(b.peers()).toEqual([c.peerId])
    expect(peerEvents).toEqual([[]])
    expect((await rejection(collect(a.request(c.peerId, text('ping'))))).name).toBe(
      'PeerUnreachableError',
    )
    expect(await a.publish('t', text('lost'))).toBe(0)
    await hub.flush()
    expect(atC).toHaveLength(0)

    hub.heal()
    expect([...a.peers()].sort()).toEqual([b.peerId, c.peerId].sort())
    expect(await collect(a.request(c.peerId, text('ping')))).toEqual([text('pong')])
  })

  it('a partition in flight drops queued messages and aborts requests', async () => {
    const hub = createMemoryHub()
    const [a, b] = (await nets(2, hub)) as [PeerNet, PeerNet]
    const got: NetMessage[] = []
    b.subscribe('t', (msg) => got.push(msg))
    await a.publish('t', text('in flight'))
    b.handle(async function* (_req, _from, { signal }) {
      yield text('first')
      await new Promise((resolve) => signal.addEventListener('abort', resolve))
    })
    const it = a.request(b.peerId, text('q'))[Symbol.asyncIterator]()
    expect((await it.next()).value).toEqual(text('first'))
    const next = it.next()
    hub.partition([a.peerId], [b.peerId])
    expect((await rejection(next)).name).toBe('ResponseAbortedError')
    await hub.flush()
    expect(got).toHaveLength(0)
  })

  it('disconnect() and dial() change links; autoFlush delivers without flush()', async () => {
    const hub = createMemoryHub({ autoFlush: true })
    const [a, b] = (await nets(2, hub)) as [PeerNet, PeerNet]
    hub.disconnect(a.peerId, b.peerId)
    expect(a.peers()).toEqual([])
    expect(await a.dial(b.addresses()[0] ?? '')).toBe(b.peerId)
    expect(a.peers()).toEqual([b.peerId])
    const got: NetMessage[] = []
    b.subscribe('t', (msg) => got.push(msg))
    await a.publish('t', text('auto'))
    await Promise.resolve()
    expect(got).toHaveLength(1)
  })

  it('has no module-level state: two hubs may use the same ids', async () => {
    const one = createMemoryHub()
    const two = createMemoryHub()
    expect(one.createNet('x').peerId).toBe(two.createNet('x').peerId)
    expect(() => one.createNet('x')).toThrow()
  })
})
