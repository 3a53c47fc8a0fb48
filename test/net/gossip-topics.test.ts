/** A peer subscribing to more topics than MAX_TOPICS_PER_PEER (real libp2p over TCP on 127.0.0.1). */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createLibp2pNet } from '../../src/net/libp2p.ts'
import {
  MAX_TOPICS_PER_PEER,
  TOPIC_BUDGET_BYTES,
  type NetMessage,
  type PeerNet,
} from '../../src/net/index.ts'
import { LINKS_TOPIC } from '../../src/net/gossip-origin.ts'
import { text } from './helpers.ts'

describe('subscriptions per peer', () => {
  const nets: PeerNet[] = []
  afterEach(async () => {
    for (const net of nets.splice(0)) await net.stop()
  })
  async function node(): Promise<PeerNet> {
    const net = await createLibp2pNet({ mdns: false, listen: ['/ip4/127.0.0.1/tcp/0'] })
    nets.push(net)
    await net.start()
    return net
  }

  it('[GSUB1] a peer subscribing to more topics than the bound gets the bound; the rest are ignored, other peers unaffected', async () => {
    const [hub, spammer, honest] = [await node(), await node(), await node()]
    const addr = hub.addresses()[0]!
    const topic = 'parley/1/room/general'
    const got: NetMessage[] = []
    hub.subscribe(topic, (m) => got.push(m))
    spammer.subscribe(topic, () => undefined)
    await spammer.dial(addr)
    await vi.waitFor(() => expect(hub.topicPeers(topic)).toContain(spammer.peerId))

    // one SUBSCRIBE per topic, past the budget whatever the topics' length (gossipsub charges
    // each its length + 1,024 bytes; the first topic counts against it too)
    const spam = (i: number) => `parley/1/room/spam-${i}`
    const cost = (t: string) => t.length + 1_024
    const count = Math.ceil(TOPIC_BUDGET_BYTES / 1_024) + 100
    // in batches: thousands of RPCs written at once overflow the spammer's own stream buffer
    for (let i = 0; i < count; i += 500) {
      for (let j = i; j < Math.min(count, i + 500); j++) spammer.subscribe(spam(j), () => undefined)
      if (i + 500 < MAX_TOPICS_PER_PEER)
        await vi.waitFor(() => expect(hub.topicPeers(spam(i + 499))).toContain(spammer.peerId))
    }
    // the stream is read in order: once this arrives, every subscription before it was handled
    await spammer.publish(topic, text('after the subscriptions'))
    await vi.waitFor(() => expect(got).toHaveLength(1), { timeout: 30_000 })

    let recorded = 0
    // the spammer's other subscription, which every peer makes (gossip-origin.ts)
    let charged = cost(topic) + cost(LINKS_TOPIC)
    for (let i = 0; i < count; i++)
      if (hub.topicPeers(spam(i)).includes(spammer.peerId)) {
        recorded++
        charged += cost(spam(i))
      }
    // at least the bound (topics are at most 78 characters), never over the budget
    expect(recorded + 1).toBeGreaterThanOrEqual(MAX_TOPICS_PER_PEER)
    expect(recorded).toBeLessThan(count)
    expect(charged).toBeLessThanOrEqual(TOPIC_BUDGET_BYTES)
    expect(TOPIC_BUDGET_BYTES - charged).toBeLessThan(cost(spam(count - 1)))
    expect(hub.topicPeers(spam(count - 1))).toEqual([])

    // an honest peer's subscriptions still count
    honest.subscribe(spam(count - 1), () => undefined)
    await honest.dial(addr)
    await vi.waitFor(() => expect(hub.topicPeers(spam(count - 1))).toEqual([honest.peerId]))
  })
})
