/**
 * Gossip ingest limits (src/core/ingest-limit.ts): the buckets, then a flood on real libp2p
 * (TCP on 127.0.0.1) through a relay that must keep forwarding an honest author's messages.
 */
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { IngestLimiter, LOG_EVERY_MS, MAX_KEYS_PER_PEER } from '../../src/core/ingest-limit.ts'
import { createLibp2pNet } from '../../src/net/libp2p.ts'
import { roomTopic, type PeerIdString, type PeerNet } from '../../src/net/index.ts'
import { MIN_ENTRY_BYTES } from '../../src/crdt/entry.ts'
import { encodeFrame } from '../../src/crdt/wire.ts'
import { hex } from '../../src/core/store.ts'
import { connect, PeerSet, untilTexts } from '../helpers/peers.ts'

const peer = (s: string) => s as PeerIdString
const bytes = (n: number) => new Uint8Array(randomBytes(n))

describe('IngestLimiter', () => {
  it('[ILIM1] a burst passes, then the rate; a quiet second refills it; the first drop is noted', () => {
    let now = 0
    const lim = new IngestLimiter({ perSecond: 10, burst: 20 }, () => now)
    const take = () => lim.take(peer('p'), 'k', 'push')
    expect(Array.from({ length: 25 }, take).filter(Boolean)).toHaveLength(20)
    now += 1_000
    expect(Array.from({ length: 25 }, take).filter(Boolean)).toHaveLength(10)
    now += LOG_EVERY_MS
    expect(Array.from({ length: 25 }, take).filter(Boolean)).toHaveLength(20)
    expect(lim.stats()).toEqual({ passed: 50, dropped: 25, firstDropAt: 0 })
    expect(() => new IngestLimiter({ perSecond: 0, burst: 1 })).toThrow(RangeError)
  })

  it('[ILIM2] each key a peer sends has its own bucket; keys beyond the cap share one; other peers are apart', () => {
    const lim = new IngestLimiter({ perSecond: 1, burst: 2 }, () => 0)
    const from = (p: string, key: string) => lim.take(peer(p), key, 'push')
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
    expect(lim.size).toBe(3)
  })
})

describe('IngestLimiter penalties', () => {
  it("[ILIM4] a pair caught forging takes nothing for burst / rate seconds; the same peer's other keys and other peers keep their budget", () => {
    let now = 0
    const lim = new IngestLimiter({ perSecond: 10, burst: 20 }, () => now)
    expect(lim.take(peer('relay'), 'forged', 'push')).toBe(true)
    expect(lim.penalized(peer('relay'), 'forged')).toBe(false)
    lim.penalize(peer('relay'), 'forged')
    expect(lim.penalized(peer('relay'), 'forged')).toBe(true)
    expect(lim.take(peer('relay'), 'forged', 'push')).toBe(false)
    expect(lim.take(peer('relay'), 'alice', 'push')).toBe(true)
    expect(lim.take(peer('other'), 'forged', 'push')).toBe(true)
    now += 1_999
    expect(lim.take(peer('relay'), 'forged', 'push')).toBe(false)
    now += 200 // 2.2 s: 2 tokens again
    expect(lim.penalized(peer('relay'), 'forged')).toBe(false)
    expect(lim.take(peer('relay'), 'forged', 'push')).toBe(true)
    // a pair never seen has nothing to penalize
    lim.penalize(peer('nobody'), 'k')
    expect(lim.penalized(peer('nobody'), 'k')).toBe(false)
  })
})

describe('a flood through a relay (real libp2p over TCP)', () => {
  const set = new PeerSet()
  const nets: PeerNet[] = []
  afterEach(async () => {
    for (const n of nets.splice(0)) await n.stop()
    await set.teardown()
  })

  it('[ILIM3] a flooder is cut at the relay it reaches; an honest author behind the relay gets every message to a far peer during the flood', async () => {
    const limit = { perSecond: 50, burst: 100 }
    const room = 'general'
    // Gossip reaching each peer's core, by author (entryKey's first 8 hex of it).
    const counter = (arrivals: Map<string, number>) => (stage: string, key: string) => {
      if (stage !== 'gossip') return
      const author = key.split('/')[1]!
      arrivals.set(author, (arrivals.get(author) ?? 0) + 1)
    }
    const arrivals = new Map<string, number>()
    const farArrivals = new Map<string, number>()
    const hub = await set.add({ ingestLimit: limit, trace: counter(arrivals) })
    const [honest, far] = [
      await set.add({ ingestLimit: limit }),
      await set.add({ ingestLimit: limit, trace: counter(farArrivals) }),
    ]
    // honest → hub ← far: whatever reaches far from honest crosses the hub
    await connect(honest, hub)
    await connect(far, hub)
    await honest.messenger.post(room, 'hello')
    await untilTexts(far, room, ['hello'])

    const flooder = await createLibp2pNet({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    nets.push(flooder)
    flooder.subscribe(roomTopic(room), () => undefined)
    await flooder.start()
    await flooder.dial(hub.net.addresses().find((a) => a.includes('/tcp/'))!)
    await vi.waitFor(() => expect(flooder.topicPeers(roomTopic(room))).toContain(hub.net.peerId), {
      timeout: 15_000,
    })

    const floodKey = bytes(32)
    const frame = (i: number) =>
      encodeFrame({
        type: 'push',
        room,
        head: { room, author: floodKey, seq: i + 1, hash: bytes(32), sig: bytes(64) },
        entries: [bytes(MIN_ENTRY_BYTES)],
      })
    const FLOOD = 1_500
    const started = performance.now()
    const flood = (async () => {
      for (let i = 0; i < FLOOD; i += 250) {
        const batch: Promise<number>[] = []
        for (let j = i; j < Math.min(FLOOD, i + 250); j++)
          batch.push(flooder.publish(roomTopic(room), frame(j)))
        await Promise.all(batch)
      }
    })()
    // the honest author writes while the flood runs
    const texts = Array.from({ length: 10 }, (_, i) => `honest ${i}`)
    for (const t of texts) await honest.messenger.post(room, t)
    await flood
    await untilTexts(far, room, ['hello', ...texts])
    const seconds = (performance.now() - started) / 1000

    const flooderKey = hex(floodKey.subarray(0, 4))
    const fromFlooder = arrivals.get(flooderKey) ?? 0
    const stats = hub.messenger.ingest.stats()
    expect(fromFlooder).toBeGreaterThan(limit.burst)
    // only the flooder went over: the hub took no more of it than the burst and the rate
    expect(stats.dropped).toBeGreaterThan(0)
    const taken = fromFlooder - stats.dropped
    expect(taken).toBeLessThanOrEqual(limit.burst + Math.ceil(limit.perSecond * seconds))
    // the hub refuses the rest before gossipsub forwards it: the far peer sees only what it took
    expect(farArrivals.get(flooderKey) ?? 0).toBeLessThanOrEqual(taken)
  })
})
