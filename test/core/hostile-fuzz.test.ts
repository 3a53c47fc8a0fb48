/**
 * Hostile input in bulk: seeded garbage and mutations of valid frames on the room and presence
 * topics and on the sync protocol, and frames over the 3 MiB cap. Every honest peer keeps running,
 * keeps serving, and its SQLite history stays byte-identical. `PARLEY_SEED=<n>` replays a seed.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { parleyGossipsub } from '../../src/net/gossip.ts'
import { encodeLength } from '../../src/net/frames.ts'
import {
  MAX_FRAME_BYTES,
  PRESENCE_TOPIC,
  SYNC_PROTOCOL,
  roomTopic,
  type NetMessage,
} from '../../src/net/index.ts'
import { decodeFrame, encodeFrame, type Frame } from '../../src/crdt/wire.ts'
import { signPresence } from '../../src/crdt/presence-sig.ts'
import { createNodeSigner } from '../../src/node/crypto-node.ts'
import type { TestPeer } from '../helpers/peers.ts'
import { dumpHistoryDb } from '../helpers/hub-peers.ts'
import { mutate, seededPrng, testSeeds, type Prng } from '../helpers/prng.ts'
import { ROOM, arenaPerTest, untilShown, type Arena } from '../helpers/rogue.ts'

const COUNT = 1000

/** Valid frames of every type, built from what `a` holds: mutations of them start near-valid. */
async function validFrames(arena: Arena, rand: Prng): Promise<Record<string, Uint8Array>> {
  const { a, rogue } = arena
  const [state] = await a.store.authors(ROOM)
  const entries = (await a.store.entries(ROOM, state!.author, 1, state!.head.seq)).map(
    (e) => e.bytes,
  )
  const head = { room: ROOM, ...state!.head }
  const signer = createNodeSigner(rand.bytes(32))
  const body = {
    author: signer.publicKey,
    peer: rogue.peerId,
    name: 'rogue',
    status: 'online' as const,
    wall: Date.now(),
    seq: 1,
  }
  const frames: Frame[] = [
    { type: 'push', room: ROOM, head, entries },
    { type: 'pull', room: ROOM, have: [{ author: head.author, seq: 1 }] },
    { type: 'digest', sender: rogue.peerId, rooms: [{ room: ROOM, digest: rand.bytes(32) }] },
    { type: 'heads', room: ROOM, heads: [head] },
    { type: 'entries', room: ROOM, period: 1, entries },
    { type: 'end', room: ROOM },
    { type: 'presence', ...body, sig: await signPresence(signer, body) },
  ]
  return Object.fromEntries(frames.map((f) => [f.type, encodeFrame(f)]))
}

/** `count` distinct payloads (gossip ids are content hashes): noise, or a mutated valid frame. */
function payloads(rand: Prng, valid: readonly Uint8Array[], count: number): Uint8Array[] {
  const seen = new Set<string>()
  const out: Uint8Array[] = []
  while (out.length < count) {
    const p = rand.bool() ? rand.bytes(1 + rand.int(400)) : mutate(rand, rand.pick(valid))
    const key = Buffer.from(p).toString('hex')
    if (p.length === 0 || seen.has(key)) continue
    seen.add(key)
    out.push(p)
  }
  return out
}

/** Flushes every open room's snapshots (settling scheduled pulls first) and dumps the database. */
async function settledDump(p: TestPeer): Promise<string[]> {
  await p.messenger.syncNow()
  for (const room of p.messenger.list()) await (await p.messenger.join(room)).flush()
  return dumpHistoryDb(p.dir)
}

/** `p` answers a pull of everything, and takes and passes on new messages. */
async function expectServing(arena: Arena, tag: string): Promise<void> {
  const { a, b, rogue } = arena
  for (const p of [a, b]) {
    const frames: Frame[] = []
    const pull = encodeFrame({ type: 'pull', room: ROOM, have: [] })
    for await (const bytes of rogue.request(p.net.peerId, pull)) frames.push(decodeFrame(bytes))
    const entries = frames.flatMap((f) => (f.type === 'entries' ? f.entries : []))
    const heads = frames.flatMap((f) => (f.type === 'heads' ? f.heads : []))
    expect(frames.at(-1)?.type).toBe('end')
    expect(entries.length).toBe(heads.reduce((n, h) => n + h.seq, 0))
  }
  await a.messenger.post(ROOM, `a after ${tag}`)
  await b.messenger.post(ROOM, `b after ${tag}`)
  for (const p of [a, b]) await untilShown(p, [`a after ${tag}`, `b after ${tag}`])
}

/**
 * Counts what reaches the honest peers' nets on `topic` (every subscription's `accept` check sees
 * each message, also those the messenger's check refuses). With `only`, counts just those
 * payloads: the honest peers' own traffic (presence heartbeats every few seconds) is not the rogue's.
 */
function spy(
  arena: Arena,
  topic: string,
  only?: readonly Uint8Array[],
): { count: () => number[]; sizes: number[] } {
  const counts = arena.honest.map(() => 0)
  const sizes: number[] = []
  const wanted = only && new Set(only.map((p) => Buffer.from(p).toString('hex')))
  for (const [i, p] of arena.honest.entries()) {
    const count = (msg: NetMessage): boolean => {
      if (wanted && !wanted.has(Buffer.from(msg.data).toString('hex'))) return true
      counts[i] = counts[i]! + 1
      sizes.push(msg.data.length)
      return true
    }
    p.net.subscribe(topic, () => undefined, { accept: count })
  }
  return { count: () => [...counts], sizes }
}

describe('bulk hostile input (TCP on 127.0.0.1)', () => {
  const arenas = arenaPerTest()
  let raw: Libp2p | undefined
  // runs before the arena's own (after-hooks run last registered first)
  afterEach(async () => {
    await raw?.stop()
    raw = undefined
  })

  for (const seed of testSeeds(0x0b0e_0001, 1)) {
    it(`[HOST4] ${COUNT} malformed payloads per topic and ${COUNT} malformed sync frames leave history byte-identical (seed ${seed})`, async () => {
      const why = `seed ${seed} (replay: PARLEY_SEED=${seed})`
      const arena = await arenas.start()
      const { b, rogue } = arena
      const rand = seededPrng(seed)
      const valid = await validFrames(arena, rand)
      const before = [await settledDump(arena.a), await settledDump(b)]

      for (const topic of [roomTopic(ROOM), PRESENCE_TOPIC]) {
        const sent = payloads(rand, Object.values(valid), COUNT)
        const seen = spy(arena, topic, sent)
        for (const p of sent) await rogue.publish(topic, p)
        await vi.waitFor(() => expect(seen.count(), why).toEqual([COUNT, COUNT]), {
          timeout: 20_000,
        })
      }

      const outcomes = new Map<string, number>()
      const frames = payloads(rand, Object.values(valid), COUNT)
      const lanes = 8
      await Promise.all(
        Array.from({ length: lanes }, async (_, lane) => {
          for (let i = lane; i < frames.length; i += lanes) {
            let outcome: string
            try {
              const replies: string[] = []
              for await (const r of rogue.request(b.net.peerId, frames[i]!)) {
                replies.push(decodeFrame(r).type)
              }
              outcome = replies.join('+') || 'nothing'
            } catch (err) {
              outcome = (err as Error).name
            }
            outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
          }
        }),
      )
      expect(outcomes.get('PeerUnreachableError'), why).toBeUndefined()
      const after = [await settledDump(arena.a), await settledDump(b)]
      expect(after[0], `${why}: a's history`).toEqual(before[0])
      expect(after[1], `${why}: b's history`).toEqual(before[1])
      await expectServing(arena, 'the fuzz')
    })
  }

  it('[HOST5] frames over 3 MiB are refused on every path without crashing the peer', async () => {
    const arena = await arenas.start()
    const { b, rogue } = arena
    const before = [await settledDump(arena.a), await settledDump(b)]
    const big = new Uint8Array(MAX_FRAME_BYTES + 1).fill(7)
    await expect(collect(rogue.request(b.net.peerId, big))).rejects.toHaveProperty(
      'name',
      'FrameTooLargeError',
    )
    await expect(rogue.publish(roomTopic(ROOM), big)).rejects.toHaveProperty(
      'name',
      'FrameTooLargeError',
    )

    // A raw node that ignores the cap: a 3 MiB + 1 request frame on the sync protocol…
    const node = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        pubsub: parleyGossipsub({ runOnLimitedConnection: false }),
      },
    })
    raw = node
    const target = multiaddr(b.net.addresses().find((x) => x.includes('/tcp/'))!)
    const stream = await vi.waitFor(() => node.dialProtocol(target, SYNC_PROTOCOL), {
      timeout: 10_000,
      interval: 250,
    })
    let answered = 0
    stream.addEventListener('message', () => answered++)
    const ended = new Promise<void>((resolve) => stream.addEventListener('close', () => resolve()))
    stream.send(encodeLength(big.length))
    stream.send(big)
    await stream.close().catch(() => undefined)
    await ended
    expect(answered).toBe(0)

    // …and a 3.5 MiB gossip message, which gossipsub (4 MiB limit) delivers to the messenger.
    const seen = spy(arena, roomTopic(ROOM))
    const pubsub = node.services.pubsub
    pubsub.subscribe(roomTopic(ROOM))
    await vi.waitFor(() => {
      if (!pubsub.getSubscribers(roomTopic(ROOM)).some((p) => p.toString() === b.net.peerId))
        throw new Error('b not subscribed yet')
    })
    await pubsub.publish(roomTopic(ROOM), new Uint8Array(MAX_FRAME_BYTES + 512 * 1024).fill(6))
    await vi.waitFor(() => expect(seen.sizes.some((n) => n > MAX_FRAME_BYTES)).toBe(true))

    const after = [await settledDump(arena.a), await settledDump(b)]
    expect(after).toEqual(before)
    await expectServing(arena, 'the giants')
  })
})

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const x of it) out.push(x)
  return out
}
