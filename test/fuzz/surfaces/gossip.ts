/**
 * Gossip handlers of src/core fed through a stub `PeerNet` (the topic callbacks are the real
 * ones): presence, room announcements and typing notes; directory records in `sys.people` /
 * `sys.rooms` message texts; the UI's local state read back from disk.
 *
 * A handler must never throw into the net and never leave a rejected promise behind: the surface
 * calls the callback as the net would, waits a macrotask for its async work, and the engine turns
 * an unhandled rejection during the input into a crash.
 */
import { createIdentity } from '../../../src/core/identity.ts'
import { LocalState } from '../../../src/core/local-state.ts'
import { Presence } from '../../../src/core/presence.ts'
import { RoomAnnouncer } from '../../../src/core/room-announce.ts'
import type { RoomSync } from '../../../src/core/sync.ts'
import type { HistoryStore } from '../../../src/core/store.ts'
import { TYPING_TOPIC, Typing } from '../../../src/core/typing.ts'
import { decodeRecord, encodeRecord } from '../../../src/crdt/directory.ts'
import { authorId } from '../../../src/crdt/entry.ts'
import { encodeFrame } from '../../../src/crdt/wire.ts'
import { signPresence } from '../../../src/crdt/presence-sig.ts'
import type { NetMessage, PeerIdString, PeerNet } from '../../../src/net/index.ts'
import { PRESENCE_TOPIC, ROOMS_TOPIC } from '../../../src/net/constants.ts'
import { createNodeSigner, nodeCrypto } from '../../../src/node/crypto-node.ts'
import { InvariantError, type Surface } from '../engine.ts'
import { ROOM, type World } from '../fixtures.ts'

const NOW = 1_764_000_000_000
const FROM = '12D3KooWFuzzFrom' as PeerIdString
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** A net that only records subscriptions: `deliver` plays a gossip message to them. */
function stubNet(): { net: PeerNet; deliver(topic: string, data: Uint8Array): void } {
  const subs = new Map<string, (msg: NetMessage) => void>()
  const net = {
    peerId: '12D3KooWFuzzSelf' as PeerIdString,
    subscribe(topic: string, cb: (msg: NetMessage) => void) {
      subs.set(topic, cb)
      return () => subs.delete(topic)
    },
    publish: () => Promise.resolve(0),
    peers: () => [FROM],
  } as unknown as PeerNet
  return {
    net,
    deliver(topic, data) {
      const cb = subs.get(topic)
      if (cb === undefined) throw new InvariantError(`nothing subscribed to ${topic}`)
      cb({ topic, data, from: FROM } as NetMessage)
    },
  }
}

const signers = [1, 2, 3].map((b) => createNodeSigner(new Uint8Array(32).fill(b + 40)))

export async function presenceSurface(w: World): Promise<Surface> {
  const { net, deliver } = stubNet()
  const identity = createIdentity(w.alice.signer, nodeCrypto)
  const presence = new Presence({
    net,
    identity,
    name: 'me',
    now: () => NOW,
    intervalMs: 3_600_000,
  })
  presence.start()
  // signed announcements with fields at their edges: mutations of these reach past the signature
  // check only where they leave the signed bytes alone, so the edges are seeds of their own
  const seeds: Uint8Array[] = []
  for (const [i, [peer, name, wall, seq]] of (
    [
      ['peer-a', 'bob', NOW, 3],
      ['', '', 0, 0],
      [FROM, '\u202e\u0000', 2 ** 48 - 1, 2 ** 48],
      ['x'.repeat(128), 'é'.repeat(128), NOW, 1],
    ] as const
  ).entries()) {
    const signer = signers[i % signers.length]!
    const body = { author: signer.publicKey, peer, name, status: 'away' as const, wall, seq }
    seeds.push(encodeFrame({ type: 'presence', ...body, sig: await signPresence(signer, body) }))
  }
  return {
    name: 'presence',
    description:
      'Presence (src/core/presence.ts) receiving presence-topic gossip: decodeFrame, verifyPresence, the people list',
    allowed: [],
    seeds,
    async run(input) {
      deliver(PRESENCE_TOPIC, input)
      await tick()
      return 'delivered'
    },
    close: () => void presence.stop(),
  }
}

export function announceSurface(frames: Uint8Array[]): Surface {
  const { net, deliver } = stubNet()
  const pulls: string[] = []
  const sync = {
    digestOf: (room: string) => Promise.resolve(room === ROOM ? new Uint8Array(32) : undefined),
    lacks: (room: string, have: { seq: number }[]) => room !== ROOM || have.some((a) => a.seq > 2),
    holds: (room: string) => room === ROOM,
    contigOf: (room: string) => (room === ROOM ? 2 : 0),
    schedulePull: (_from: PeerIdString, room: string) => void pulls.push(room),
  } as unknown as RoomSync
  const announcer = new RoomAnnouncer(net, sync, (room) => !room.startsWith('sys.'))
  announcer.start()
  return {
    name: 'room-announce',
    description:
      'RoomAnnouncer (src/core/room-announce.ts) receiving rooms-topic gossip: decodeFrame, heads or digest comparison, pulls scheduled',
    allowed: [],
    seeds: frames,
    async run(input) {
      pulls.length = 0
      deliver(ROOMS_TOPIC, input)
      await tick()
      return pulls.length > 0 ? 'pull' : 'ignored'
    },
    close: () => announcer.stop(),
  }
}

export async function typingSurface(w: World): Promise<Surface> {
  const { net, deliver } = stubNet()
  const identity = createIdentity(w.alice.signer, nodeCrypto)
  const typing = new Typing({ net, identity, now: () => NOW })
  typing.start()
  const signer = signers[1]!
  const author = authorId(signer.publicKey)
  const enc = new TextEncoder()
  const note = (room: string, wall: number, sig: Uint8Array): Uint8Array =>
    enc.encode(JSON.stringify({ room, author, wall, sig: btoa(String.fromCharCode(...sig)) }))
  const signed = async (room: string, wall: number): Promise<Uint8Array> =>
    note(room, wall, await signer.sign(enc.encode(`parley/typing/1\0${room}\0${author}\0${wall}`)))
  return {
    name: 'typing',
    description:
      'Typing (src/core/typing.ts) receiving typing-topic gossip: JSON parse, base64 signature, verify',
    allowed: [],
    seeds: [
      await signed(ROOM, NOW),
      await signed('', NOW - 1000),
      await signed('x'.repeat(600), NOW + 59_000),
      await signed('__proto__', NOW),
    ],
    async run(input) {
      deliver(TYPING_TOPIC, input)
      await tick()
      return typing.typers(ROOM).length > 0 ? 'typing' : 'ignored'
    },
    close: () => typing.stop(),
  }
}

export function directorySurface(): Surface {
  const enc = new TextEncoder()
  const records = [
    encodeRecord({ t: 'profile', userId: 'alice', name: 'Alice A.' }),
    encodeRecord({ t: 'room', id: 'general', name: 'General', topic: 'all hands' }),
    encodeRecord({ t: 'dm', id: 'dm.0123456789abcdef0123456789abcdef', members: ['a', 'b'] }),
  ]
  const dec = new TextDecoder()
  return {
    name: 'directory-record',
    description:
      'decodeRecord (src/crdt/directory.ts): profile, room listing and dm notice records in sys.people/sys.rooms message texts',
    allowed: [],
    seeds: records.map((r) => enc.encode(r)),
    run(input) {
      const r = decodeRecord(dec.decode(input))
      return r === undefined ? 'ignored' : r.t
    },
  }
}

/** The web client's local state (`ui/local`, `ui/drafts` settings) read back from the store. */
export function localStateSurface(): Surface {
  const enc = new TextEncoder()
  let stored: Uint8Array = new Uint8Array()
  const store = {
    getSetting: () => Promise.resolve(stored),
    putSetting: () => Promise.resolve(),
  } as unknown as HistoryStore
  return {
    name: 'local-state',
    description:
      "LocalState.load (src/core/local-state.ts): the client's UI state and drafts (JSON) read from its store at start",
    allowed: [],
    seeds: [
      enc.encode(JSON.stringify({ read: { general: 3 }, current: 'general' })),
      enc.encode(JSON.stringify({ general: 'half a thought', 'dm.x': '' })),
    ],
    async run(input) {
      stored = input
      const s = new LocalState(store)
      await s.load()
      const { joined, left, read, delivered, lastSeen, current } = s.data
      const strings = (a: unknown): boolean =>
        Array.isArray(a) && a.every((x) => typeof x === 'string')
      const ok =
        strings(joined) &&
        strings(left) &&
        typeof current === 'string' &&
        Object.values(read).every((c) => Number.isFinite(c.wall) && Number.isFinite(c.count)) &&
        [delivered, lastSeen].every((r) => Object.values(r).every(Number.isFinite)) &&
        typeof s.draft('general') === 'string'
      if (!ok) throw new InvariantError('loaded local state of the wrong shape')
      return 'loaded'
    },
  }
}
