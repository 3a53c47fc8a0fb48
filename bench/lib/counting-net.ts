/**
 * A {@link PeerNet} decorator that counts the bytes Parley hands to and gets from the network, and
 * (when asked) timestamps every pubsub message on chosen topics. Bytes are counted at the PeerNet
 * boundary: frame payloads plus their varint length prefix for request streams, message payloads
 * for gossip. Noise (16-byte tag + 2-byte length per ≤ 64 KiB record), yamux (12-byte header per
 * data frame), TCP/IP headers and gossipsub's own protobuf envelope are not included: for the
 * 1 MiB entries frames of a catch-up they add well under 1 %.
 */
import { encodeLength } from '../../src/net/frames.ts'
import { decodeFrame } from '../../src/crdt/wire.ts'
import type { PeerNet, RequestHandler } from '../../src/net/index.ts'
import { now } from './clock.ts'

export interface ByteCounts {
  /** Request frames we sent, and response frames we received for them. */
  requestOut: number
  responseIn: number
  /** Request frames we served, and response frames we sent back. */
  requestIn: number
  responseOut: number
  gossipOut: number
  gossipIn: number
  gossipOutCount: number
  gossipInCount: number
  /** Requests sent (pulls, pushes, digests) and served. */
  requestsOut: number
  requestsIn: number
  /** Requests sent, by frame type (`pull`, `digest`, `push`). */
  requestTypes: Record<string, number>
}

export interface TimedPayload {
  t: number
  data: Uint8Array
}

export interface CountingNet extends PeerNet {
  counts(): ByteCounts
  resetCounts(): void
  /** Starts timestamping publishes and deliveries on `topic` (kept in memory until `takeTimed`). */
  recordTopic(topic: string): void
  takeTimed(): { published: TimedPayload[]; delivered: TimedPayload[] }
}

const framed = (n: number): number => n + encodeLength(n).byteLength

function frameType(data: Uint8Array): string {
  try {
    return decodeFrame(data).type
  } catch {
    return 'malformed'
  }
}

export function countingNet(inner: PeerNet): CountingNet {
  const zero = (): ByteCounts => ({
    requestOut: 0,
    responseIn: 0,
    requestIn: 0,
    responseOut: 0,
    gossipOut: 0,
    gossipIn: 0,
    gossipOutCount: 0,
    gossipInCount: 0,
    requestsOut: 0,
    requestsIn: 0,
    requestTypes: {},
  })
  let c = zero()
  const recorded = new Set<string>()
  let published: TimedPayload[] = []
  let delivered: TimedPayload[] = []

  async function* countedRequest(
    peer: Parameters<PeerNet['request']>[0],
    data: Uint8Array,
    options: Parameters<PeerNet['request']>[2],
  ): AsyncGenerator<Uint8Array> {
    c.requestOut += framed(data.byteLength)
    c.requestsOut += 1
    const type = frameType(data)
    c.requestTypes[type] = (c.requestTypes[type] ?? 0) + 1
    for await (const frame of inner.request(peer, data, options)) {
      c.responseIn += framed(frame.byteLength)
      yield frame
    }
  }

  const countedHandler = (handler: RequestHandler): RequestHandler =>
    async function* (request, from, options) {
      c.requestIn += framed(request.byteLength)
      c.requestsIn += 1
      for await (const frame of handler(request, from, options)) {
        c.responseOut += framed(frame.byteLength)
        yield frame
      }
    }

  return {
    get peerId() {
      return inner.peerId
    },
    start: () => inner.start(),
    stop: () => inner.stop(),
    subscribe(topic, onMessage) {
      return inner.subscribe(topic, (msg) => {
        c.gossipIn += msg.data.byteLength
        c.gossipInCount += 1
        if (recorded.has(topic)) delivered.push({ t: now(), data: msg.data })
        onMessage(msg)
      })
    },
    async publish(topic, data, options) {
      c.gossipOut += data.byteLength
      c.gossipOutCount += 1
      if (recorded.has(topic)) published.push({ t: now(), data })
      return inner.publish(topic, data, options)
    },
    onPeers: (cb) => inner.onPeers(cb),
    onSubscribed: (cb) => inner.onSubscribed(cb),
    onRefused: (cb) => inner.onRefused(cb),
    peers: () => inner.peers(),
    topicPeers: (topic) => inner.topicPeers(topic),
    connections: () => inner.connections(),
    quietFor: (peer) => inner.quietFor(peer),
    handle: (handler) => inner.handle(countedHandler(handler)),
    request: (peer, data, options) => countedRequest(peer, data, options),
    dial: (addr, options) => inner.dial(addr, options),
    addresses: () => inner.addresses(),
    evict: (peer, options) => inner.evict(peer, options),
    readmitAll: () => inner.readmitAll(),
    counts: () => ({ ...c, requestTypes: { ...c.requestTypes } }),
    resetCounts() {
      c = zero()
    },
    recordTopic(topic) {
      recorded.add(topic)
    },
    takeTimed() {
      const out = { published, delivered }
      published = []
      delivered = []
      return out
    },
  }
}
