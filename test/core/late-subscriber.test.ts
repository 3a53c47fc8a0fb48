/**
 * A peer learnt to follow a room's topic only after we published in it gets what we published
 * pushed (src/core/peer-sync.ts, `LATE_SUBSCRIBER_MS` in sync.ts): gossip went to the subscribers
 * known at the time, and the peer's digest or pull of the room may have been taken just before our
 * write. Without the push it waited for anti-entropy (10–20 s). A whole peer on the memory hub,
 * the late subscriber a bare net that records the requests it is sent.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { HubPeerSet } from '../helpers/hub-peers.ts'
import { decodeFrame, encodeFrame, type Frame } from '../../src/crdt/wire.ts'
import { roomTopic } from '../../src/net/constants.ts'

type Push = Extract<Frame, { type: 'push' }>

describe('a late subscriber', () => {
  const set = new HubPeerSet({ autoFlush: true })
  afterEach(() => set.teardown())

  it('[LATE1] is pushed what was published in the room before its subscription was known', async () => {
    const a = await set.add()
    const b = set.hub.createNet()
    await b.start()
    const pushes: Push[] = []
    let arrived: (p: Push) => void = () => undefined
    b.handle(async function* (req) {
      const f = decodeFrame(req)
      if (f.type !== 'push') return
      pushes.push(f)
      arrived(f)
      yield encodeFrame({ type: 'heads', room: f.room, heads: [f.head] })
    })
    const { seq } = await a.messenger.post('general', 'before b follows')
    // the gossip went to nobody: b follows no room yet
    expect(a.net.topicPeers(roomTopic('general'))).toEqual([])
    const pushed = new Promise<Push>((resolve) => (arrived = resolve))
    b.subscribe(roomTopic('general'), () => undefined)
    const push = await pushed
    expect(push.room).toBe('general')
    expect(Buffer.from(push.head.author)).toEqual(
      Buffer.from(a.messenger.identity.signer.publicKey),
    )
    expect(push.head.seq).toBe(seq)
    expect(push.entries.length).toBeGreaterThan(0)
    expect(pushes).toHaveLength(1)
  })

  it('[LATE2] what was published before the link came up is not pushed: the reconcile finds it', async () => {
    const apart = new HubPeerSet({ autoFlush: true, autoConnect: false })
    try {
      const a = await apart.add()
      const b = apart.hub.createNet()
      await b.start()
      const rooms: string[] = []
      let arrived: () => void = () => undefined
      b.handle(async function* (req) {
        const f = decodeFrame(req)
        if (f.type !== 'push') return
        rooms.push(f.room)
        arrived()
        yield encodeFrame({ type: 'heads', room: f.room, heads: [f.head] })
      })
      await a.messenger.post('general', 'before the link')
      await b.dial(`/memory/${a.net.peerId}`)
      b.subscribe(roomTopic('general'), () => undefined)
      await a.messenger.post('side', 'after the link, before b follows side')
      const pushed = new Promise<void>((resolve) => (arrived = resolve))
      b.subscribe(roomTopic('side'), () => undefined)
      await pushed
      expect(rooms).toEqual(['side'])
    } finally {
      await apart.teardown()
    }
  })

  it('[LATE3] a peer that subscribes again and again is pushed no more than we write', async () => {
    const a = await set.add()
    const b = set.hub.createNet()
    await b.start()
    const rooms: string[] = []
    let arrived: (room: string) => void = () => undefined
    b.handle(async function* (req) {
      const f = decodeFrame(req)
      if (f.type !== 'push') return
      rooms.push(f.room)
      arrived(f.room)
      yield encodeFrame({ type: 'heads', room: f.room, heads: [f.head] })
    })
    await a.messenger.post('general', 'once')
    const first = new Promise<string>((resolve) => (arrived = resolve))
    for (let i = 0; i < 50; i++) b.subscribe(roomTopic('general'), () => undefined)()
    expect(await first).toBe('general')
    for (let i = 0; i < 50; i++) b.subscribe(roomTopic('general'), () => undefined)()
    // a barrier: a push for another room, asked for after every repeat
    await a.messenger.post('side', 'a barrier')
    const barrier = new Promise<void>(
      (resolve) => (arrived = (room) => room === 'side' && resolve()),
    )
    b.subscribe(roomTopic('side'), () => undefined)
    await barrier
    expect(rooms).toEqual(['general', 'side'])
  })
})
