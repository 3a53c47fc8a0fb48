import { afterEach, describe, expect, it } from 'vitest'
import { encodeFrame } from '../../src/crdt/wire.ts'
import { ROOMS_TOPIC } from '../../src/net/constants.ts'
import { PeerSet, connect, untilTexts } from '../helpers/peers.ts'

describe('rooms an always-on peer holds', () => {
  const set = new PeerSet()
  afterEach(() => set.teardown())

  it('[PROV1] digests naming rooms nobody can back with signed history make it hold nothing', async () => {
    const [a, b] = [await set.add(), await set.add()]
    await connect(a, b)
    const rooms = Array.from({ length: 200 }, (_, i) => ({
      room: `fake-${i}`,
      digest: new Uint8Array(32),
    }))
    // As a digest request (anti-entropy) and as a gossiped announcement.
    for await (const _ of b.net.request(
      a.net.peerId,
      encodeFrame({ type: 'digest', sender: b.net.peerId, rooms }),
    )) {
      // drain the reply
    }
    await b.net.publish(ROOMS_TOPIC, encodeFrame({ type: 'digest', sender: b.net.peerId, rooms }))
    // A real room created afterwards is picked up, proving the announcements were processed.
    await b.messenger.post('real', 'hello')
    // Anti-entropy from b (not only its gossiped announcement, which a loaded machine may deliver
    // before a's subscription is known to b) tells a about the real room.
    await b.messenger.syncNow()
    await untilTexts(a, 'real', ['hello'])
    await a.messenger.syncNow()
    expect(a.messenger.list()).toEqual(['real'])
    expect(await a.store.rooms()).toEqual(['real'])
  })
})
