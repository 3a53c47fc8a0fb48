/** Gossip rate limits per peer and sender key (src/net/gossip-limit.ts): the math, then real libp2p. */
import { afterEach, describe, expect, it } from 'vitest'
import { createLibp2pNet } from '../../src/net/libp2p.ts'
import { GossipLimiter, MAX_KEYS_PER_PEER } from '../../src/net/gossip-limit.ts'
import type { NetMessage, PeerIdString, PeerNet } from '../../src/net/index.ts'
import { text, until } from './helpers.ts'

const peer = (s: string) => s as PeerIdString
const none = new Uint8Array()

describe('GossipLimiter', () => {
  it('[GLIM1] a burst passes, then the rate; a quiet second refills it', () => {
    let now = 0
    const lim = new GossipLimiter({ perSecond: 10, burst: 20 }, () => now)
    const throttled: number[] = []
    const take = () => lim.take(peer('p'), 't', none, (_p, _k, n) => throttled.push(n))
    expect(Array.from({ length: 25 }, take).filter(Boolean)).toHaveLength(20)
    expect(throttled).toEqual([1]) // told once, then quiet for 10 s
    now += 1_000
    expect(Array.from({ length: 25 }, take).filter(Boolean)).toHaveLength(10)
    now += 10_000
    expect(Array.from({ length: 25 }, take).filter(Boolean)).toHaveLength(20)
    expect(throttled).toEqual([1, 20]) // the 4 + 15 + 1 dropped since, told 10 s later
    expect(() => new GossipLimiter({ perSecond: 0, burst: 1 })).toThrow(RangeError)
  })

  it('[GLIM2] each sender key of a peer has its own bucket; keys beyond the cap share one; other peers are apart', () => {
    const lim = new GossipLimiter(
      { perSecond: 1, burst: 2, keyOf: (_t, d) => new TextDecoder().decode(d) },
      () => 0,
    )
    const from = (p: string, key: string) => lim.take(peer(p), 't', text(key))
    expect([from('relay', 'flooder'), from('relay', 'flooder'), from('relay', 'flooder')]).toEqual([
      true,
      true,
      false,
    ])
    // the flooder's author is spent; an honest author relayed by the same peer is not
    expect(from('relay', 'alice')).toBe(true)
    // a forger claiming alice's key spends only its own bucket for her
    expect([from('forger', 'alice'), from('forger', 'alice'), from('forger', 'alice')]).toEqual([
      true,
      true,
      false,
    ])
    expect(from('relay', 'alice')).toBe(true)
    // a peer inventing keys gets MAX_KEYS_PER_PEER buckets, then one shared one
    const made = Array.from({ length: MAX_KEYS_PER_PEER + 10 }, (_, i) => from('sybil', `k${i}`))
    expect(made.filter(Boolean)).toHaveLength(MAX_KEYS_PER_PEER + 2)
  })
})

describe('gossip rate limit on real libp2p nodes (TCP on 127.0.0.1)', () => {
  const nets: PeerNet[] = []
  afterEach(async () => {
    for (const net of nets.splice(0)) await net.stop()
  })
  // counted per peer and per sender, as the core counts by a frame's author (src/core/gossip-limit.ts)
  const limit = {
    perSecond: 50,
    burst: 100,
    keyOf: (_topic: string, data: Uint8Array) => new TextDecoder().decode(data).split(' ')[0],
  }
  async function node(): Promise<PeerNet> {
    const net = await createLibp2pNet({
      mdns: false,
      transports: 'node',
      listen: ['/ip4/127.0.0.1/tcp/0'],
      gossipLimit: limit,
    })
    nets.push(net)
    await net.start()
    return net
  }

  it('[GLIM3] a flooding peer is cut at the first peer it reaches; an honest peer behind it gets every honest message', async () => {
    const [flooder, honest, hub, far] = [await node(), await node(), await node(), await node()]
    // flooder → hub ← honest; hub → far: everything reaching far passes through the hub
    for (const n of [flooder, honest, far]) await n.dial(hub.addresses()[0]!)
    const topic = 'parley/room/abuse'
    const atHub: NetMessage[] = []
    const atFar: NetMessage[] = []
    for (const n of [flooder, honest]) n.subscribe(topic, () => undefined)
    hub.subscribe(topic, (m) => atHub.push(m))
    far.subscribe(topic, (m) => atFar.push(m))
    await until(() => {
      expect(hub.topicPeers(topic)).toHaveLength(3)
      expect(flooder.topicPeers(topic)).toContain(hub.peerId)
      expect(honest.topicPeers(topic)).toContain(hub.peerId)
    })

    const started = performance.now()
    const flood: Promise<number>[] = []
    for (let i = 0; i < 2_000; i++) flood.push(flooder.publish(topic, text(`flood ${i}`)))
    await Promise.all(flood)
    for (let i = 0; i < 20; i++) await honest.publish(topic, text(`honest ${i}`))

    const said = (m: NetMessage) => new TextDecoder().decode(m.data)
    const honestAt = (got: NetMessage[]) => got.filter((m) => said(m).startsWith('honest')).length
    await until(() => expect(honestAt(atFar)).toBe(20), 20_000)
    expect(honestAt(atHub)).toBe(20)
    const seconds = (performance.now() - started) / 1000
    const fromFlooder = atHub.filter((m) => m.from === flooder.peerId).length
    // the hub took no more than the burst and the rate over the time it ran
    expect(fromFlooder).toBeGreaterThan(0)
    expect(fromFlooder).toBeLessThanOrEqual(limit.burst + Math.ceil(limit.perSecond * seconds))
    // and passed on only what it took: far never saw the rest
    const floodAtFar = atFar.filter((m) => said(m).startsWith('flood'))
    expect(floodAtFar.length).toBeLessThanOrEqual(fromFlooder)
  })
})
