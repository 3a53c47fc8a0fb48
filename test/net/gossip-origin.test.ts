/**
 * Not forwarding to a peer what it hears from the author directly (src/net/gossip-origin.ts): real
 * libp2p nodes (memory transport, Noise, yamux) running Parley's gossipsub configuration.
 */
import type { PeerId } from '@libp2p/interface'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { gossipNodes, type GossipNode } from './gossip-nodes.ts'
import {
  LINKS_TOPIC,
  MAX_CLAIMED_LINKS,
  linkClaims,
  parseClaim,
} from '../../src/net/gossip-origin.ts'

type Node = GossipNode
const TOPIC = 'parley/test/origin'
const enc = new TextEncoder()
const dec = new TextDecoder()

interface Seen {
  texts: string[]
  /** Copies of TOPIC messages that arrived, duplicates included. */
  copies: number
  /** The `from` of each copy that arrived. */
  origins: (Uint8Array | undefined)[]
  /** The peer that handed over each copy. */
  sources: string[]
}

describe('gossip: no forward to a peer that hears the author directly', () => {
  const nodes: Node[] = []
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.stop()
  })

  async function start(n: number): Promise<Node[]> {
    const made = await gossipNodes(n)
    nodes.push(...made)
    return made
  }

  const link = async (a: Node, b: Node): Promise<void> => {
    await a.dial(b.getMultiaddrs()[0]!)
  }

  function watch(all: readonly Node[]): Seen[] {
    return all.map((n) => {
      const seen: Seen = { texts: [], copies: 0, origins: [], sources: [] }
      const ps = n.services.pubsub as unknown as {
        handleReceivedMessage(from: PeerId, rpcMsg: { topic: string; from?: Uint8Array }): unknown
      }
      const received = ps.handleReceivedMessage.bind(ps)
      ps.handleReceivedMessage = (from, rpcMsg) => {
        if (rpcMsg.topic === TOPIC) {
          seen.copies++
          seen.origins.push(rpcMsg.from)
          seen.sources.push(from.toString())
        }
        return received(from, rpcMsg)
      }
      n.services.pubsub.subscribe(TOPIC)
      n.services.pubsub.addEventListener('gossipsub:message', (e) => {
        if (e.detail.msg.topic === TOPIC) seen.texts.push(dec.decode(e.detail.msg.data))
      })
      return seen
    })
  }

  /** Resolves once every node holds a claim from each of the peers it is linked to. */
  const claimsIn = (all: readonly Node[]): Promise<void> =>
    vi.waitFor(
      () => {
        for (const n of all) {
          const claims = linkClaims(n.services.pubsub)
          const peers = n.getPeers().map(String)
          expect([...claims.keys()].sort()).toEqual(peers.sort())
          for (const p of peers) expect(claims.get(p)?.has(n.peerId.toString())).toBe(true)
          expect(n.services.pubsub.getSubscribers(TOPIC)).toHaveLength(peers.length)
        }
      },
      { timeout: 15_000, interval: 100 },
    )

  it('[ORIGIN1] a full mesh of 6: each receiver gets each message once, from its author, with its id in `from`', async () => {
    const all = await start(6)
    await Promise.all(all.flatMap((a, i) => all.slice(i + 1).map((b) => link(a, b))))
    const seen = watch(all)
    await claimsIn(all)
    const want = Array.from({ length: 20 }, (_, i) => `message ${i}`)
    for (const text of want) await all[0]!.services.pubsub.publish(TOPIC, enc.encode(text))
    await vi.waitFor(() => {
      for (const s of seen.slice(1)) expect(s.texts).toEqual(want)
    })
    // Gossipsub's mesh forwards (D 3) would have brought ~3 more copies of each; let a heartbeat
    // pass so that any late copy would be counted.
    await new Promise<void>((resolve) =>
      all[1]!.services.pubsub.addEventListener('gossipsub:heartbeat', () => resolve(), {
        once: true,
      }),
    )
    const author = all[0]!.peerId.toMultihash().bytes
    for (const s of seen.slice(1)) {
      expect(s.copies).toBe(want.length)
      for (const from of s.origins) expect(from).toEqual(author)
    }
    expect(seen[0]!.texts).toEqual([])
  })

  it('[ORIGIN2] a peer not linked to the author still gets every message, through the others', async () => {
    const [a, b, c, d] = await start(4)
    for (const [x, y] of [
      [a, b],
      [a, c],
      [b, c],
      [b, d],
      [c, d],
    ] as const)
      await link(x!, y!)
    const seen = watch([a!, b!, c!, d!])
    await claimsIn([a!, b!, c!, d!])
    const want = Array.from({ length: 10 }, (_, i) => `to the far side ${i}`)
    for (const text of want) await a!.services.pubsub.publish(TOPIC, enc.encode(text))
    // d's copies come by two paths (b, c) and by gossip: in any order.
    await vi.waitFor(
      () => {
        for (const s of seen.slice(1)) expect([...s.texts].sort()).toEqual([...want].sort())
      },
      { timeout: 10_000 },
    )
    // b and c each hear a directly and claim so: neither forwards a's messages to the other (what
    // reaches them besides a's own copies is d forwarding what it got from the other).
    const [bId, cId, dId] = [b!, c!, d!].map((n) => n.peerId.toString())
    expect(seen[1]!.sources.filter((p) => p === cId)).toEqual([])
    expect(seen[2]!.sources.filter((p) => p === bId)).toEqual([])
    expect(seen[1]!.sources.filter((p) => p !== dId)).toHaveLength(want.length)
    expect(seen[3]!.copies).toBeGreaterThanOrEqual(want.length)
  })

  it('[ORIGIN4] a peer flooding claims has one taken per quarter second, the rest dropped unread', async () => {
    const [a, b] = await start(2)
    await link(a!, b!)
    watch([a!, b!])
    await claimsIn([a!, b!])
    const validate = a!.services.pubsub.topicValidators.get(LINKS_TOPIC)!
    const bId = b!.peerId.toString()
    for (let i = 0; i < 100; i++) {
      const data = enc.encode(JSON.stringify({ peer: bId, n: i, links: [`fake-${i}`] }))
      await validate(b!.peerId, { type: 'unsigned', topic: LINKS_TOPIC, data })
    }
    const held = [...linkClaims(a!.services.pubsub).get(bId)!]
    expect(held.filter((p) => p.startsWith('fake-') && p !== 'fake-0')).toEqual([])
  })

  it('[ORIGIN3] a claim is taken only from the peer it is about, well formed and bounded', () => {
    const me = '12D3KooWexample'
    const claim = (c: unknown): Uint8Array => enc.encode(JSON.stringify(c))
    expect(parseClaim(claim({ peer: me, n: 1, links: ['x', 'y'] }), me)).toEqual(
      new Set(['x', 'y']),
    )
    expect(parseClaim(claim({ peer: 'someone else', n: 1, links: ['x'] }), me)).toBeUndefined()
    expect(parseClaim(claim({ peer: me, n: 1, links: 'x' }), me)).toBeUndefined()
    expect(parseClaim(claim({ peer: me, n: 1, links: [1, 2] }), me)).toBeUndefined()
    expect(parseClaim(claim({ peer: me, n: 1, links: ['x'.repeat(129)] }), me)).toBeUndefined()
    const most = Array.from({ length: MAX_CLAIMED_LINKS }, () => 'x'.repeat(128))
    expect(parseClaim(claim({ peer: me, n: 1e9, links: most }), me)?.size).toBe(1)
    const many = Array.from({ length: MAX_CLAIMED_LINKS + 1 }, (_, i) => `p${i}`)
    expect(parseClaim(claim({ peer: me, n: 1, links: many }), me)).toBeUndefined()
    expect(parseClaim(enc.encode('{not json'), me)).toBeUndefined()
    expect(parseClaim(claim(null), me)).toBeUndefined()
    expect(parseClaim(new Uint8Array(MAX_CLAIMED_LINKS * 132 + 257), me)).toBeUndefined()
  })
})
