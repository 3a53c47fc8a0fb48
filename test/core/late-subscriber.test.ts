/**
 * A peer learnt to follow a room's topic only after entries of it reached us — our own as we
 * published them, others' as we took them in — is pushed them (src/core/peer-sync.ts,
 * `LATE_SUBSCRIBER_MS` in recent-chains.ts): gossip went to the subscribers known at the time, and the
 * peer's digest or pull of the room may have been taken just before. Without the push it waited
 * for anti-entropy (10–20 s). Whole peers on the memory hub, the late subscriber a bare net that
 * records the pushes it is sent.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { HubPeerSet, type HubPeer } from '../helpers/hub-peers.ts'
import { decodeFrame, encodeFrame, type Frame } from '../../src/crdt/wire.ts'
import { roomTopic } from '../../src/net/constants.ts'

type Push = Extract<Frame, { type: 'push' }>

/** A started bare net of `set`'s hub that answers pushes and records them. */
async function pushRecorder(set: HubPeerSet) {
  const net = set.hub.createNet()
  await net.start()
  const pushes: Push[] = []
  const waiting = new Map<string, (p: Push) => void>()
  net.handle(async function* (req) {
    const f = decodeFrame(req)
    if (f.type !== 'push') return
    pushes.push(f)
    waiting.get(f.room)?.(f)
    yield encodeFrame({ type: 'heads', room: f.room, heads: [f.head] })
  })
  return {
    net,
    rooms: () => pushes.map((p) => p.room),
    /** Resolves with the next push of `room`. */
    next: (room: string) => new Promise<Push>((resolve) => waiting.set(room, resolve)),
  }
}

/** `push` carries `author`'s chain up to `seq`. */
function expectChain(push: Push, author: HubPeer, seq: number): void {
  expect(Buffer.from(push.head.author)).toEqual(
    Buffer.from(author.messenger.identity.signer.publicKey),
  )
  expect(push.head.seq).toBe(seq)
  expect(push.entries.length).toBeGreaterThan(0)
}

describe('a late subscriber', () => {
  const set = new HubPeerSet({ autoFlush: true })
  afterEach(() => set.teardown())

  it('[LATE1] is pushed what was published in the room before its subscription was known', async () => {
    const a = await set.add()
    const b = await pushRecorder(set)
    const { seq } = await a.messenger.post('general', 'before b follows')
    // the gossip went to nobody: b follows no room yet
    expect(a.net.topicPeers(roomTopic('general'))).toEqual([])
    const pushed = b.next('general')
    b.net.subscribe(roomTopic('general'), () => undefined)
    expectChain(await pushed, a, seq)
    expect(b.rooms()).toEqual(['general'])
  })

  it('[LATE2] what was published before the link came up is not pushed: the reconcile finds it', async () => {
    const apart = new HubPeerSet({ autoFlush: true, autoConnect: false })
    try {
      const a = await apart.add()
      const b = await pushRecorder(apart)
      await a.messenger.post('general', 'before the link')
      await b.net.dial(`/memory/${a.net.peerId}`)
      b.net.subscribe(roomTopic('general'), () => undefined)
      await a.messenger.post('side', 'after the link, before b follows side')
      const pushed = b.next('side')
      b.net.subscribe(roomTopic('side'), () => undefined)
      await pushed
      expect(b.rooms()).toEqual(['side'])
    } finally {
      await apart.teardown()
    }
  })

  it('[LATE3] a peer that subscribes again and again is pushed no more than we write', async () => {
    const a = await set.add()
    const b = await pushRecorder(set)
    await a.messenger.post('general', 'once')
    const first = b.next('general')
    for (let i = 0; i < 50; i++) b.net.subscribe(roomTopic('general'), () => undefined)()
    await first
    for (let i = 0; i < 50; i++) b.net.subscribe(roomTopic('general'), () => undefined)()
    // a barrier: a push for another room, asked for after every repeat
    await a.messenger.post('side', 'a barrier')
    const barrier = b.next('side')
    b.net.subscribe(roomTopic('side'), () => undefined)
    await barrier
    expect(b.rooms()).toEqual(['general', 'side'])
  })

  it('[LATE4] a relay pushes what it took in from others meanwhile, not only its own', async () => {
    // author — relay — b: b is linked to the relay only
    const line = new HubPeerSet({ autoFlush: true, autoConnect: false })
    try {
      const relay = await line.add()
      const author = await line.add()
      const b = await pushRecorder(line)
      await relay.messenger.join('general')
      await author.net.dial(`/memory/${relay.net.peerId}`)
      await b.net.dial(`/memory/${relay.net.peerId}`)
      const { seq } = await author.messenger.post('general', 'through the relay')
      await vi.waitFor(async () =>
        expect((await relay.messenger.messages('general')).map((m) => m.text)).toContain(
          'through the relay',
        ),
      )
      const pushed = b.next('general')
      b.net.subscribe(roomTopic('general'), () => undefined)
      expectChain(await pushed, author, seq)
    } finally {
      await line.teardown()
    }
  })
})
