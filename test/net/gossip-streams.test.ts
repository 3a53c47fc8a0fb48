/**
 * keepGossipStreams against gossipsub's own state (fakes of the few fields it reads): a peer
 * gossipsub knows, connected, with no outbound stream — one that failed to open, which gossipsub
 * never retries — is handed back to gossipsub's connect handler, and so is a connected peer it
 * forgot; a peer with a stream, a peer with no open connection, a peer on a limited connection
 * (when gossipsub does not run on those) and a peer not admitted are left alone. The real stack's case is [GOSSIP1] (test/net/libp2p-tcp.test.ts).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { GOSSIP_STREAM_SWEEP_MS, keepGossipStreams } from '../../src/net/gossip-streams.ts'

const peerId = (name: string): PeerId => ({ toString: () => name }) as unknown as PeerId
const conn = (peer: PeerId, extra: Partial<Connection> = {}): Connection =>
  ({ remotePeer: peer, status: 'open', limits: undefined, ...extra }) as unknown as Connection

function fakes(conns: Connection[]) {
  const connected: string[] = []
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(peerId) as [PeerId, PeerId, PeerId, PeerId]
  const pubsub = {
    peers: new Map([a, b, c, d].map((p) => [p.toString(), p])),
    streamsOutbound: new Map<string, unknown>([['b', {}]]),
    topics: new Map<string, Set<string>>(),
    onPeerConnected(p: PeerId, on: Connection) {
      connected.push(`${p.toString()} on ${on.status}`)
      this.peers.set(p.toString(), p)
      this.streamsOutbound.set(p.toString(), {})
    },
  }
  const node = Object.assign(new EventTarget(), {
    getConnections: (p?: PeerId) =>
      conns.filter((x) => p === undefined || x.remotePeer.toString() === p.toString()),
  })
  return { pubsub, node, connected, peers: { a, b, c, d } }
}

/** keepGossipStreams over the fakes, gossipsub not on limited links. */
const keep = (
  node: EventTarget,
  pubsub: object,
  admitted = (_peer: string) => true,
): (() => void) =>
  keepGossipStreams(
    node as unknown as Libp2p,
    pubsub as unknown as GossipSub,
    false,
    admitted,
    logger('test'),
  )

describe('keepGossipStreams', () => {
  afterEach(() => vi.useRealTimers())

  it('[GSTREAM1] the sweep reopens the stream of a connected peer that has none, and nothing else', async () => {
    vi.useFakeTimers()
    const a = peerId('a')
    const c = peerId('c')
    const d = peerId('d')
    const { pubsub, node, connected } = fakes([
      conn(a),
      conn(c, { status: 'closed' }),
      conn(d, { limits: { seconds: 120 } } as Partial<Connection>),
    ])
    const stop = keep(node, pubsub)
    expect(connected).toEqual([])
    await vi.advanceTimersByTimeAsync(GOSSIP_STREAM_SWEEP_MS)
    // a: connected, no stream; b: has one; c: link closed; d: only a limited link
    expect(connected).toEqual(['a on open'])
    await vi.advanceTimersByTimeAsync(GOSSIP_STREAM_SWEEP_MS * 3)
    expect(connected).toEqual(['a on open'])
    stop()
    pubsub.streamsOutbound.delete('a')
    await vi.advanceTimersByTimeAsync(GOSSIP_STREAM_SWEEP_MS * 3)
    expect(connected).toEqual(['a on open'])
  })

  it('[GSTREAM2] a closed link whose peer is still connected gets the stream back at once', async () => {
    const b = peerId('b')
    const open = conn(b)
    const { pubsub, node, connected } = fakes([open])
    const stop = keep(node, pubsub)
    // b's stream went with its old link; the new one is open
    pubsub.streamsOutbound.delete('b')
    node.dispatchEvent(
      new CustomEvent('connection:close', { detail: conn(b, { status: 'closed' }) }),
    )
    await vi.waitFor(() => expect(connected).toContain('b on open'), { timeout: 500 })
    stop()
  })

  it('[GSTREAM3] a connected peer gossipsub forgot while its subscriptions still came is handed back, if admitted', async () => {
    vi.useFakeTimers()
    const e = peerId('e')
    const f = peerId('f')
    const { pubsub, node, connected } = fakes([conn(e), conn(f)])
    pubsub.peers.clear()
    pubsub.streamsOutbound.clear()
    // e and f subscribed after gossipsub dropped them (a late disconnect); f is not admitted
    pubsub.topics.set('t', new Set(['e', 'f']))
    const stop = keep(node, pubsub, (peer) => peer !== 'f')
    await vi.advanceTimersByTimeAsync(GOSSIP_STREAM_SWEEP_MS)
    expect(connected).toEqual(['e on open'])
    await vi.advanceTimersByTimeAsync(GOSSIP_STREAM_SWEEP_MS * 3)
    expect(connected).toEqual(['e on open'])
    stop()
  })

  it('[GSTREAM4] an outbound stream that closed unseen (its link went while it opened) is dropped and opened again', async () => {
    vi.useFakeTimers()
    const b = peerId('b')
    const { pubsub, node, connected } = fakes([conn(b)])
    let aborted = false
    const stale = {
      rawStream: { status: 'closed', writeStatus: 'closed', abort: () => (aborted = true) },
    }
    pubsub.streamsOutbound.set('b', stale)
    const stop = keep(node, pubsub)
    await vi.advanceTimersByTimeAsync(GOSSIP_STREAM_SWEEP_MS)
    expect(connected).toEqual(['b on open'])
    expect(aborted).toBe(true)
    expect(pubsub.streamsOutbound.get('b')).not.toBe(stale)
    stop()
  })
})
