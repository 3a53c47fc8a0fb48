/**
 * A pull its peer never answers does not hold its room back. In chaos schedules a host linked to a
 * peer whose link had died without either side knowing waited ~5 s for entries its other
 * neighbours had pulled and announced at once: one pull per room runs at a time, and the dead one
 * held the turn until libp2p failed its stream.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { PeerIdString } from '../../src/net/index.ts'
import { encodeFrame } from '../../src/crdt/wire.ts'
import { PullQueue } from '../../src/core/pull-queue.ts'
import { connect, type TestPeer } from '../helpers/peers.ts'
import { ROOM, arenaPerTest, untilShown, type Arena } from '../helpers/rogue.ts'

/** A pull the test finishes by hand; `frame()` is one frame arriving and taken. */
interface FakePull {
  peer: PeerIdString
  room: string
  announce: boolean
  frame(): void
  finish(): void
}

/**
 * A queue of fake pulls, 1 s stall and 5 s patience; `heard` holds when each peer's links last
 * received something (a peer not in it is silent).
 */
function fakeQueue(): { queue: PullQueue; started: FakePull[]; heard: Map<string, number> } {
  const started: FakePull[] = []
  const heard = new Map<string, number>()
  const queue = new PullQueue(
    (peer, room, waiting, announce) =>
      new Promise<void>((resolve) =>
        started.push({
          peer,
          room,
          announce,
          frame: () => {
            waiting(false)
            waiting(true)
          },
          finish: resolve,
        }),
      ),
    (peer) => {
      const at = heard.get(peer)
      return at === undefined ? undefined : Date.now() - at
    },
    { stallMs: 1_000, patienceMs: 5_000 },
  )
  return { queue, started, heard }
}

/** A peer id for the fake pulls (any string does). */
const id = (name: string): PeerIdString => name as PeerIdString

const names = (pulls: FakePull[]): string[] => pulls.map((p) => `${p.peer}:${p.room}`)

describe('PullQueue', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('[PULLQ1] one pull per room at a time; the peers asked meanwhile follow in turn', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const { queue, started } = fakeQueue()
    queue.schedule(id('a'), 'r')
    queue.schedule(id('b'), 'r')
    queue.schedule(id('c'), 'r')
    queue.schedule(id('b'), 'r') // already waiting: asked once
    queue.schedule(id('a'), 's') // another room runs beside
    expect(names(started)).toEqual(['a:r', 'a:s'])
    // frames keep coming: the pull keeps its turn past the stall time
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(900)
      started[0]!.frame()
    }
    expect(names(started)).toEqual(['a:r', 'a:s'])
    started[0]!.finish()
    await vi.waitFor(() => expect(names(started)).toEqual(['a:r', 'a:s', 'b:r']))
    started[2]!.finish()
    await vi.waitFor(() => expect(names(started)).toEqual(['a:r', 'a:s', 'b:r', 'c:r']))
    started[1]!.finish()
    started[3]!.finish()
    await queue.settled()
    expect(started).toHaveLength(4)
  })

  it('[PULLQ2] a pull from a silent peer with no frame for the stall time gives up its turn, and its peer waits for it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const { queue, started } = fakeQueue()
    queue.schedule(id('dead'), 'r')
    queue.schedule(id('b'), 'r')
    vi.advanceTimersByTime(999)
    expect(names(started)).toEqual(['dead:r'])
    vi.advanceTimersByTime(1)
    expect(names(started)).toEqual(['dead:r', 'b:r'])
    // asked again while its stalled pull runs: not a second pull from it at once
    queue.schedule(id('dead'), 'r')
    started[1]!.finish()
    await Promise.resolve()
    await vi.waitFor(() => expect(names(started)).toEqual(['dead:r', 'b:r']))
    // a frame on the stalled pull does not take the turn back
    started[0]!.frame()
    started[0]!.finish()
    await vi.waitFor(() => expect(names(started)).toEqual(['dead:r', 'b:r', 'dead:r']))
    // time spent taking a frame (not waiting for the peer) does not count as a stall
    queue.schedule(id('c'), 'r')
    const busy = started[2]!
    busy.frame()
    vi.advanceTimersByTime(999)
    expect(names(started)).toHaveLength(3)
    vi.advanceTimersByTime(1)
    expect(names(started)).toEqual(['dead:r', 'b:r', 'dead:r', 'c:r'])
    busy.finish()
    started[3]!.finish()
    await queue.settled()
    expect(started).toHaveLength(4)
  })
  it('[PULLQ3] a peer heard from keeps its pull in turn until the patience runs out; one that goes quiet, not', async () => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    })
    const { queue, started, heard } = fakeQueue()
    // 'slow' sends gossip and pings all along, but no frame of the pull
    const chatter = setInterval(() => heard.set('slow', Date.now()), 200)
    queue.schedule(id('slow'), 'r')
    queue.schedule(id('b'), 'r')
    vi.advanceTimersByTime(4_999)
    expect(names(started)).toEqual(['slow:r'])
    vi.advanceTimersByTime(1)
    expect(names(started)).toEqual(['slow:r', 'b:r'])
    clearInterval(chatter)
    // 'b' was heard from when its pull started, then its links went quiet: stalled 1 s after
    heard.set('b', Date.now())
    queue.schedule(id('c'), 'r')
    vi.advanceTimersByTime(999)
    expect(names(started)).toHaveLength(2)
    vi.advanceTimersByTime(1)
    expect(names(started)).toEqual(['slow:r', 'b:r', 'c:r'])
    for (const p of started) p.finish()
    await queue.settled()
    expect(started).toHaveLength(3)
  })

  it('[PULLQ4] a pull is announced if any request for it since it was queued asked so', async () => {
    const { queue, started } = fakeQueue()
    queue.schedule(id('a'), 'r') // runs at once, announced (the default)
    queue.schedule(id('b'), 'r', { announce: false })
    queue.schedule(id('c'), 'r', { announce: false })
    queue.schedule(id('c'), 'r') // a second request, announced: c keeps its place behind b
    queue.schedule(id('a'), 'r', { announce: false }) // asked again while its pull runs: a new pull, not announced
    expect(started.map((p) => [p.peer, p.announce])).toEqual([['a', true]])
    for (let i = 0; i < 3; i++) {
      started[i]!.finish()
      await vi.waitFor(() => expect(started).toHaveLength(i + 2))
    }
    expect(started.map((p) => [p.peer, p.announce])).toEqual([
      ['a', true],
      ['b', false],
      ['c', true],
      ['a', false],
    ])
    started[3]!.finish()
    await queue.settled()
  })

  it('[PULLQ5] a pull whose turn comes is skipped if no request for it still needs it', async () => {
    const { queue, started } = fakeQueue()
    let needB = true
    let needC = false
    queue.schedule(id('a'), 'r')
    queue.schedule(id('b'), 'r', { still: () => needB })
    queue.schedule(id('c'), 'r', { still: () => false })
    queue.schedule(id('c'), 'r', { still: () => needC }) // either still needing it is enough
    queue.schedule(id('d'), 'r', { still: () => false })
    queue.schedule(id('d'), 'r') // one needing it whatever happens: made
    needB = false // came by gossip while a's pull ran
    needC = true
    started[0]!.finish()
    await vi.waitFor(() => expect(started).toHaveLength(2))
    expect(names(started)).toEqual(['a:r', 'c:r'])
    started[1]!.finish()
    await vi.waitFor(() => expect(started).toHaveLength(3))
    expect(names(started)).toEqual(['a:r', 'c:r', 'd:r'])
    started[2]!.finish()
    await queue.settled()
    expect(started).toHaveLength(3)
  })
})

/** Makes `p` pull `ROOM` from the rogue (a digest that differs), which takes it and never answers. */
async function hangPull(arena: Arena, p: TestPeer): Promise<void> {
  arena.stuck.add(p.net.peerId)
  const digest = encodeFrame({
    type: 'digest',
    sender: arena.rogue.peerId,
    rooms: [{ room: ROOM, digest: new Uint8Array(32).fill(7) }],
  })
  for await (const _ of arena.rogue.request(p.net.peerId, digest)) void _
  await vi.waitFor(() => expect(arena.hung.get(p.net.peerId)).toBe(1), { timeout: 10_000 })
}

describe('a pull its peer never answers (TCP on 127.0.0.1)', () => {
  const { set, start } = arenaPerTest()

  it('[PULL1] entries a neighbour pulled and announced arrive while it hangs', async () => {
    const arena = await start()
    const { a, b } = arena
    await hangPull(arena, a)
    // c writes linked to no one, then links to b only: b pulls c's messages and announces them.
    const c = await set.add()
    await c.messenger.post(ROOM, 'from c 1')
    await c.messenger.post(ROOM, 'from c 2')
    await connect(c, b)
    await untilShown(b, ['from c 1', 'from c 2'])
    expect(a.net.peers()).not.toContain(c.net.peerId)
    await untilShown(a, ['from c 1', 'from c 2'])
    // the rogue's pull still hangs: a got them from b beside it
    expect(arena.hung.get(a.net.peerId)).toBe(1)
    expect(arena.served.get(a.net.peerId) ?? 0).toBe(0)
  })

  it('[PULL2] a peer stops while a pull it asked for is held unanswered', async () => {
    const arena = await start()
    const { a } = arena
    await hangPull(arena, a)
    // the pull is aborted: nothing waits for the rogue, whose connection stays open
    await a.messenger.stop()
    expect(arena.hung.get(a.net.peerId)).toBe(1)
    expect(arena.served.get(a.net.peerId) ?? 0).toBe(0)
  })

  it('[PULL3] a one-shot sync waits for the pulls no longer than its deadline when one is held unanswered', async () => {
    const arena = await start()
    const { a } = arena
    await hangPull(arena, a)
    await a.messenger.syncNow(AbortSignal.timeout(1_000))
    expect(arena.hung.get(a.net.peerId)).toBe(1)
    expect(arena.served.get(a.net.peerId) ?? 0).toBe(0)
  })
})
