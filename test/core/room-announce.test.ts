/**
 * Room announcements (src/core/room-announce.ts) through a stub net and a stub RoomSync: what an
 * announcement names, and who pulls on hearing one. Only a peer still short of an announced author
 * a moment later pulls, and does not announce what it pulled: announcing a digest had every peer
 * whose digest differed pull at once — on a busy network every peer, every time — and announce
 * again (docs/reliability.md, "Announcements that fed on themselves").
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ANNOUNCE_PULL_DELAY_MS, RoomAnnouncer } from '../../src/core/room-announce.ts'
import type { RoomSync } from '../../src/core/sync.ts'
import { decodeFrame, encodeFrame, type AnnounceFrame } from '../../src/crdt/wire.ts'
import type { NetMessage, PeerIdString, PeerNet } from '../../src/net/index.ts'
import { ROOMS_TOPIC } from '../../src/net/constants.ts'

const ME = '12D3KooWSelf' as PeerIdString
const FROM = '12D3KooWForwarder' as PeerIdString
const SENDER = '12D3KooWAnnouncer' as PeerIdString
const ROOM = 'general'
const key = (b: number): Uint8Array => new Uint8Array(32).fill(b)
const [X, Y, Z] = [key(1), key(2), key(3)]

/** What the announcer under test holds: seq per author key (first byte), per room. */
function world(held: Record<string, Record<number, number>>, connected: PeerIdString[] = []) {
  const published: Uint8Array[] = []
  const pulls: [PeerIdString, string, boolean | undefined][] = []
  let deliver: ((msg: NetMessage) => void) | undefined
  const net = {
    peerId: ME,
    subscribe(topic: string, cb: (msg: NetMessage) => void) {
      expect(topic).toBe(ROOMS_TOPIC)
      deliver = cb
      return () => (deliver = undefined)
    },
    publish: (_topic: string, data: Uint8Array) => {
      published.push(data)
      return Promise.resolve(1)
    },
    peers: () => [FROM, ...connected],
  } as unknown as PeerNet
  const contig = (room: string, a: Uint8Array): number => held[room]?.[a[0]!] ?? 0
  const sync = {
    contigOf: contig,
    lacks: (room: string, have: { author: Uint8Array; seq: number }[]) =>
      held[room] === undefined || have.some((a) => contig(room, a.author) < a.seq),
    holds: (room: string) => held[room] !== undefined,
    digestOf: () => Promise.resolve(new Uint8Array(32)),
    schedulePull: (peer: PeerIdString, room: string, o?: { announce?: boolean }) =>
      void pulls.push([peer, room, o?.announce]),
  } as unknown as RoomSync
  const announcer = new RoomAnnouncer(net, sync, (room) => !room.startsWith('sys.'))
  announcer.start()
  const hear = (f: AnnounceFrame): void =>
    deliver!({ topic: ROOMS_TOPIC, data: encodeFrame(f), from: FROM } as NetMessage)
  return { announcer, published, pulls, hear }
}

describe('room announcements', () => {
  afterEach(() => void vi.useRealTimers())

  it('[ANN1] one announcement per burst, naming the authors moved on and how far they reach here', async () => {
    vi.useFakeTimers()
    const w = world({ [ROOM]: { 1: 40, 2: 7, 3: 900 } })
    w.announcer.soon(ROOM, [X])
    w.announcer.soon(ROOM, [Y, X])
    w.announcer.soon(ROOM, [])
    await vi.advanceTimersByTimeAsync(100)
    expect(w.published).toHaveLength(1)
    const f = decodeFrame(w.published[0]!)
    expect(f).toEqual({
      type: 'announce',
      sender: ME,
      room: ROOM,
      have: [
        { author: X, seq: 40 },
        { author: Y, seq: 7 },
      ],
    })
    // Z was not named: its chain did not move (it came by gossip, which everyone has had)
    w.announcer.soon('other', [X]) // nothing held there: nothing to announce
    await vi.advanceTimersByTimeAsync(100)
    expect(w.published).toHaveLength(1)
    w.announcer.stop()
  })

  it('[ANN2] a peer pulls only if still short of an author named a moment later, and announces nothing it pulls', async () => {
    vi.useFakeTimers()
    const held = { [ROOM]: { 1: 40, 2: 7 } }
    const w = world(held, [SENDER])
    const announce = (have: AnnounceFrame['have'], room = ROOM): void =>
      w.hear({ type: 'announce', sender: SENDER, room, have })
    announce([{ author: X, seq: 40 }])
    announce([
      { author: X, seq: 12 },
      { author: Y, seq: 7 },
    ])
    await vi.advanceTimersByTimeAsync(ANNOUNCE_PULL_DELAY_MS)
    expect(w.pulls).toEqual([]) // level or ahead: nothing to pull
    announce([{ author: Y, seq: 9 }])
    announce([{ author: X, seq: 41 }])
    await vi.advanceTimersByTimeAsync(ANNOUNCE_PULL_DELAY_MS / 2)
    expect(w.pulls).toEqual([]) // gossip may still bring them
    await vi.advanceTimersByTimeAsync(ANNOUNCE_PULL_DELAY_MS / 2)
    // one pull of the room, from the announcer (connected to us), not announced in turn
    expect(w.pulls).toEqual([[SENDER, ROOM, false]])
    w.pulls.length = 0
    // an author we hold nothing of (a new member's first words): at once, not announced on (every
    // peer heard the announcement), and looked at again a moment later
    announce([{ author: Z, seq: 1 }])
    expect(w.pulls).toEqual([[SENDER, ROOM, false]])
    await vi.advanceTimersByTimeAsync(ANNOUNCE_PULL_DELAY_MS)
    expect(w.pulls).toEqual([
      [SENDER, ROOM, false],
      [SENDER, ROOM, false],
    ]) // the first pull had not brought it yet
    w.pulls.length = 0
    await vi.advanceTimersByTimeAsync(ANNOUNCE_PULL_DELAY_MS)
    expect(w.pulls).toEqual([]) // one look when the announcer is connected to us
    // short, but gossip brings it within the moment: no pull
    announce([{ author: X, seq: 42 }])
    held[ROOM][1] = 42
    await vi.advanceTimersByTimeAsync(ANNOUNCE_PULL_DELAY_MS)
    expect(w.pulls).toEqual([])
    // a room not held, that we would hold: at once, and announced on; one we would not: never
    announce([{ author: X, seq: 1 }], 'new-room')
    announce([{ author: X, seq: 1 }], 'sys.secret')
    expect(w.pulls).toEqual([[SENDER, 'new-room', undefined]])
    await vi.advanceTimersByTimeAsync(ANNOUNCE_PULL_DELAY_MS)
    expect(w.pulls).toHaveLength(1)
    w.announcer.stop()
  })

  it('[ANN3] an announcer not connected to us is pulled through the forwarder, again while still short; nothing after stop', async () => {
    vi.useFakeTimers()
    const held = { [ROOM]: { 1: 3 } }
    const w = world(held)
    w.hear({ type: 'announce', sender: SENDER, room: ROOM, have: [{ author: X, seq: 4 }] })
    await vi.advanceTimersByTimeAsync(ANNOUNCE_PULL_DELAY_MS)
    expect(w.pulls).toEqual([[FROM, ROOM, false]])
    // the forwarder had not pulled it yet: looked at again, pulled again, at most 3 times
    await vi.advanceTimersByTimeAsync(5 * ANNOUNCE_PULL_DELAY_MS)
    expect(w.pulls).toHaveLength(3)
    w.pulls.length = 0
    w.hear({ type: 'announce', sender: SENDER, room: ROOM, have: [{ author: X, seq: 5 }] })
    await vi.advanceTimersByTimeAsync(ANNOUNCE_PULL_DELAY_MS)
    expect(w.pulls).toHaveLength(1)
    held[ROOM][1] = 5 // that pull brought it: no more looks
    await vi.advanceTimersByTimeAsync(5 * ANNOUNCE_PULL_DELAY_MS)
    expect(w.pulls).toHaveLength(1)
    w.hear({ type: 'announce', sender: SENDER, room: ROOM, have: [{ author: X, seq: 6 }] })
    w.announcer.stop()
    await vi.advanceTimersByTimeAsync(ANNOUNCE_PULL_DELAY_MS)
    expect(w.pulls).toHaveLength(1)
  })
})
