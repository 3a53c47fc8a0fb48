/**
 * DeferredNet (src/net/deferred.ts): the browser's Messenger starts on it before the libp2p node
 * exists. It must pass the PeerNet contract once its net has come, and before that behave as a
 * stopped net whose subscriptions, handler and peer listeners move to the real one.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { DeferredNet } from '../../src/net/deferred.ts'
import { createMemoryHub } from '../../src/net/memory.ts'
import type { NetMessage, PeerIdString, PeerNet } from '../../src/net/index.ts'
import { collect, rejection, text, until, type PeerNetFactory } from './helpers.ts'
import { registerPeerNetContract } from './peer-net.contract.ts'

/** Memory-hub nets, each behind a DeferredNet that gets it a task after it was made. */
function deferredFactory(): PeerNetFactory {
  let hub = createMemoryHub({ autoFlush: true, autoConnect: false })
  let nets: PeerNet[] = []
  const wrap = (real: PeerNet): PeerNet => {
    const d = new DeferredNet(real.peerId)
    setTimeout(() => d.attach(real), 0)
    return d
  }
  return {
    async setup(n) {
      hub = createMemoryHub({ autoFlush: true })
      nets = Array.from({ length: n }, () => wrap(hub.createNet()))
      await Promise.all(nets.map((net) => net.start()))
      return nets
    },
    async spawn(init) {
      const real = hub.createNet(undefined, init)
      const net = wrap(real)
      nets.push(net)
      for (const other of nets) if (other !== net) hub.disconnect(real.peerId, other.peerId)
      await net.start()
      return net
    },
    async teardown() {
      await Promise.all(nets.map((net) => net.stop()))
      nets = []
      hub = createMemoryHub({ autoFlush: true, autoConnect: false })
    },
  }
}

registerPeerNetContract('deferred over memory hub', deferredFactory())

describe('DeferredNet before its net comes', () => {
  const stops: PeerNet[] = []
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((n) => n.stop()))
  })

  it('[DEFN1] is a stopped net; what was registered moves to the real net when it comes', async () => {
    const hub = createMemoryHub({ autoFlush: true })
    const real = hub.createNet()
    const other = hub.createNet()
    stops.push(real, other)
    const d = new DeferredNet(real.peerId)
    expect(d.peerId).toBe(real.peerId)

    const got: NetMessage[] = []
    const dropped: NetMessage[] = []
    d.subscribe('t', (m) => got.push(m))
    d.subscribe('t', (m) => dropped.push(m))() // unsubscribed before the net came
    const seen: (readonly PeerIdString[])[] = []
    d.onPeers((p) => seen.push(p))
    d.handle(async function* () {
      yield text('answer')
    })
    expect(d.peers()).toEqual([])
    expect(d.topicPeers('t')).toEqual([])
    expect(d.connections()).toEqual([])
    expect(d.addresses()).toEqual([])
    expect((await rejection(d.publish('t', text('x')))).name).toBe('NotStartedError')
    expect((await rejection(d.dial('/memory/x'))).name).toBe('NotStartedError')
    expect((await rejection(collect(d.request(other.peerId, text('q'))))).name).toBe(
      'NotStartedError',
    )
    await d.evict(other.peerId) // no-ops while there is no net
    await d.readmitAll()
    await d.stop()

    // start() waits for the net.
    let started = false
    const starting = d.start().then(() => (started = true))
    await new Promise((r) => setTimeout(r, 10))
    expect(started).toBe(false)
    expect(() => d.attach(other)).toThrow(/expected/)
    d.attach(real)
    await starting
    await other.start()

    await until(() => expect(seen.at(-1)).toEqual([other.peerId]))
    await until(() => expect(other.topicPeers('t')).toEqual([real.peerId]))
    await other.publish('t', text('hello'))
    await until(() => expect(got.map((m) => new TextDecoder().decode(m.data))).toEqual(['hello']))
    expect(dropped).toEqual([])
    expect(await collect(other.request(real.peerId, text('q')))).toEqual([text('answer')])
    expect(d.peers()).toEqual([other.peerId])
    const back: NetMessage[] = []
    other.subscribe('t', (m) => back.push(m))
    await until(() => expect(d.topicPeers('t')).toEqual([other.peerId]))
    await d.publish('t', text('back'))
    await until(() => expect(back).toHaveLength(1))
  })
})
