/**
 * Hostile input: random bytes on the sync protocol and on gossipsub must leave a node running
 * and responsive. Seeded, so a failure replays; the seed is in the test name.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { memory } from '@libp2p/memory'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeLength } from '../../src/net/frames.ts'
import {
  MAX_FRAME_BYTES,
  SYNC_PROTOCOL,
  type NetMessage,
  type PeerNet,
} from '../../src/net/index.ts'
import { collect, firstAddress, libp2pFactory, text, until } from './helpers.ts'

const SEED = 20_261_107

/** xorshift32: small, seedable, good enough to make garbage. */
function prng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1
  return (n) => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) % n
  }
}

function randomBytes(rand: (n: number) => number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => rand(256))
}

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

/** One hostile write on a sync stream, of one of several shapes. */
function garbageFrame(rand: (n: number) => number): { bytes: Uint8Array; abort: boolean } {
  switch (rand(6)) {
    case 0: // noise
      return { bytes: randomBytes(rand, rand(300)), abort: false }
    case 1: // a length far above the cap
      return {
        bytes: concat(encodeLength(MAX_FRAME_BYTES + 1 + rand(1e9)), randomBytes(rand, 20)),
        abort: false,
      }
    case 2: // a length prefix that never ends
      return { bytes: new Uint8Array(6 + rand(20)).fill(0xff), abort: false }
    case 3: // a frame cut short
      return { bytes: concat(encodeLength(1000), randomBytes(rand, rand(999))), abort: false }
    case 4: // two requests on one stream
      return {
        bytes: concat(encodeLength(3), text('one'), encodeLength(3), text('two')),
        abort: false,
      }
    default: // a partial write, then the stream is reset
      return { bytes: randomBytes(rand, 1 + rand(50)), abort: true }
  }
}

async function rawNode(): Promise<Libp2p> {
  return createLibp2p({
    transports: [memory()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  })
}

/** Opens a stream, writes `g`, closes (or resets) it; waits for the remote's answer if `reply`. */
async function sendRaw(
  raw: Libp2p,
  target: string,
  protocol: string,
  g: { bytes: Uint8Array; abort: boolean },
  reply: boolean,
) {
  const stream = await raw.dialProtocol(multiaddr(target), protocol)
  if (g.bytes.byteLength > 0) stream.send(g.bytes)
  if (g.abort) {
    stream.abort(new Error('fuzz'))
    return
  }
  await stream.close()
  if (!reply) return
  // Drain whatever comes back until the responder closes or resets the stream.
  await new Promise<void>((resolve) => {
    if (stream.status !== 'open') resolve()
    stream.addEventListener('message', () => {})
    stream.addEventListener('close', () => resolve())
  })
}

describe(`garbage input (seed ${SEED})`, () => {
  const factory = libp2pFactory({ transports: 'memory' })
  let raw: Libp2p | undefined
  afterEach(async () => {
    await raw?.stop()
    raw = undefined
    await factory.teardown()
  })

  it('1,000 garbage frames on the sync protocol leave the node serving', async () => {
    const [a, b] = (await factory.setup(2)) as [PeerNet, PeerNet]
    let served = 0
    b.handle(async function* (req) {
      served++
      yield req
    })
    raw = await rawNode()
    const rand = prng(SEED)
    const target = firstAddress(b)
    const frames = Array.from({ length: 1000 }, () => garbageFrame(rand))
    const lanes = 16
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let i = lane; i < frames.length; i += lanes) {
          await sendRaw(
            raw as Libp2p,
            target,
            SYNC_PROTOCOL,
            frames[i] as { bytes: Uint8Array; abort: boolean },
            true,
          )
        }
      }),
    )
    // Garbage may by chance form one valid request; two-request streams must never be served.
    expect(served).toBeLessThan(50)
    expect(await collect(a.request(b.peerId, text('still there?')))).toEqual([text('still there?')])
  })

  it('1,000 garbage payloads on a topic and raw garbage on gossipsub leave the node running', async () => {
    const [a, b] = (await factory.setup(2)) as [PeerNet, PeerNet]
    const got: NetMessage[] = []
    b.subscribe('fuzz', (msg) => {
      got.push(msg)
      // A subscriber that chokes on some of what it gets.
      if (msg.data[0] === 0) throw new Error('bad payload')
    })
    await until(() => expect(a.topicPeers('fuzz')).toEqual([b.peerId]))
    const rand = prng(SEED + 1)
    for (let i = 0; i < 1000; i++) {
      // The index keeps payloads distinct: identical ones would be one message (content ids).
      await a.publish('fuzz', concat(randomBytes(rand, rand(2000)), encodeLength(i)))
    }
    await until(() => expect(got).toHaveLength(1000))

    raw = await rawNode()
    const target = firstAddress(b)
    for (const protocol of ['/meshsub/1.1.0', '/meshsub/1.2.0']) {
      for (let i = 0; i < 50; i++) await sendRaw(raw, target, protocol, garbageFrame(rand), false)
    }
    await a.publish('fuzz', text('after the storm'))
    await until(() => expect(got.at(-1)?.data).toEqual(text('after the storm')))
  })
})
