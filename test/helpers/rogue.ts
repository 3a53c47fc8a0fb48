/**
 * An arena for hostile-input tests: two honest peers (whole messengers on TCP 127.0.0.1) sharing a
 * room, and a rogue — a bare libp2p net with no messenger — connected to both, that publishes and
 * requests raw frames and answers pulls with whatever a test scripts.
 */
import { afterEach, vi } from 'vitest'
import { createLibp2pNet } from '../../src/net/libp2p.ts'
import { PRESENCE_TOPIC, roomTopic, type PeerIdString, type PeerNet } from '../../src/net/index.ts'
import { decodeFrame, encodeFrame, type Frame } from '../../src/crdt/wire.ts'
import { hex } from '../../src/core/store.ts'
import { PeerSet, connect, untilTexts, type TestPeer } from './peers.ts'

export const ROOM = 'general'

export interface Arena {
  a: TestPeer
  b: TestPeer
  honest: TestPeer[]
  rogue: PeerNet
  /** Per honest peer: answers to its next pulls from the rogue (frames each), in order. */
  answers: Map<PeerIdString, Uint8Array[][]>
  /** Per honest peer: pulls the rogue has answered. */
  served: Map<PeerIdString, number>
  /**
   * Honest peers whose pulls the rogue takes and never answers (a link dead without either side
   * knowing), until the rogue stops; `hung` counts them.
   */
  stuck: Set<PeerIdString>
  hung: Map<PeerIdString, number>
}

const quiet = (room: string): Uint8Array[] => [
  encodeFrame({ type: 'heads', room, heads: [] }),
  encodeFrame({ type: 'end', room }),
]

/** Two honest peers holding `ROOM` with one message each, and a rogue net linked to both. */
export async function startArena(set: PeerSet): Promise<Arena> {
  // The rogue sends thousands of refused messages a second on purpose: these tests are about what
  // each does, not about the rogue being cut off for it ([FLOOD1]).
  const honest = { floodCutOff: false } as const
  const [a, b] = [await set.add({}, honest), await set.add({}, honest)]
  await connect(a, b)
  await a.messenger.post(ROOM, 'hello from a')
  await untilTexts(b, ROOM, ['hello from a'])
  await b.messenger.post(ROOM, 'hello from b')
  await untilTexts(a, ROOM, ['hello from a', 'hello from b'])
  const rogue = await createLibp2pNet({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
  const arena: Arena = {
    a,
    b,
    honest: [a, b],
    rogue,
    answers: new Map(),
    served: new Map(),
    stuck: new Set(),
    hung: new Map(),
  }

  rogue.subscribe(roomTopic(ROOM), () => undefined)
  rogue.subscribe(PRESENCE_TOPIC, () => undefined)
  rogue.handle(async function* (request, from) {
    let f: Frame
    try {
      f = decodeFrame(request)
    } catch {
      return // the rogue does not care
    }
    if (f.type === 'digest') yield encodeFrame({ type: 'digest-reply', rooms: [] })
    if (f.type !== 'pull') return
    if (arena.stuck.has(from)) {
      arena.hung.set(from, (arena.hung.get(from) ?? 0) + 1)
      // no answer, no timer: the pull waits until the rogue's connections close
      await new Promise<never>(() => undefined)
    }
    yield* arena.answers.get(from)?.shift() ?? quiet(f.room)
    arena.served.set(from, (arena.served.get(from) ?? 0) + 1)
  })
  await rogue.start()
  for (const p of arena.honest) {
    const addr = p.net.addresses().find((x) => x.includes('/tcp/'))!
    // Retried: libp2p refuses a sixth inbound connection within a second from one host.
    await vi.waitFor(() => rogue.dial(addr), { timeout: 10_000, interval: 250 })
  }
  await vi.waitFor(
    () => {
      for (const topic of [roomTopic(ROOM), PRESENCE_TOPIC]) {
        const peers = rogue.topicPeers(topic)
        if (!arena.honest.every((p) => peers.includes(p.net.peerId))) throw new Error('no mesh')
      }
    },
    { timeout: 10_000 },
  )
  return arena
}

/**
 * A {@link PeerSet} and an arena on it for the tests of one `describe`: `start()` makes the
 * arena; after each test the rogue stops first (its connections close, so a pull it holds
 * unanswered fails) and then the peers.
 */
export function arenaPerTest(): { set: PeerSet; start: () => Promise<Arena> } {
  const set = new PeerSet()
  let arena: Arena | undefined
  afterEach(async () => {
    await arena?.rogue.stop()
    arena = undefined
    await set.teardown()
  })
  return { set, start: async () => (arena = await startArena(set)) }
}

/**
 * Makes `p` pull `ROOM` from the rogue (a digest that differs from everyone's), which answers
 * with `frames`; resolves once the rogue has sent them all.
 */
export async function servePull(arena: Arena, p: TestPeer, frames: Uint8Array[]): Promise<void> {
  const peer = p.net.peerId
  const queue = arena.answers.get(peer) ?? []
  queue.push(frames)
  arena.answers.set(peer, queue)
  const target = (arena.served.get(peer) ?? 0) + queue.length
  const digest = encodeFrame({
    type: 'digest',
    sender: arena.rogue.peerId,
    rooms: [{ room: ROOM, digest: new Uint8Array(32).fill(queue.length) }],
  })
  for await (const _ of arena.rogue.request(peer, digest)) void _
  await vi.waitFor(
    () => {
      if ((arena.served.get(peer) ?? 0) < target) throw new Error('not pulled yet')
    },
    { timeout: 10_000, interval: 10 },
  )
}

/** What `p` stores of `ROOM`: every entry hash (hex), and each author's head seq. */
export async function stored(
  p: TestPeer,
): Promise<{ hashes: Set<string>; heads: Map<string, number> }> {
  const hashes = new Set<string>()
  const heads = new Map<string, number>()
  for (const a of await p.store.authors(ROOM)) {
    heads.set(hex(a.author), a.head.seq)
    for (const e of await p.store.entries(ROOM, a.author, 1, a.head.seq)) hashes.add(hex(e.hash))
  }
  return { hashes, heads }
}

/** Resolves once `p` shows every one of `texts` (among others) in `ROOM`. */
export async function untilShown(p: TestPeer, texts: readonly string[]): Promise<void> {
  await vi.waitFor(
    async () => {
      const shown = new Set((await p.messenger.messages(ROOM)).map((m) => m.text))
      const missing = texts.filter((t) => !shown.has(t))
      if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}`)
    },
    { timeout: 15_000, interval: 20 },
  )
}
