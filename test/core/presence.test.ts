/**
 * Presence between whole peers on TCP 127.0.0.1, default settings (announce every 5 s, offline
 * after 12 s of silence, checked every second). Timeouts below are the requirement's bounds.
 */
import { describe, expect, it, vi } from 'vitest'
import { PRESENCE_TOPIC } from '../../src/net/index.ts'
import { encodeFrame } from '../../src/crdt/wire.ts'
import { signPresence } from '../../src/crdt/presence-sig.ts'
import type { PresenceInfo } from '../../src/core/presence.ts'
import { connect, type TestPeer } from '../helpers/peers.ts'
import { flipBit, newSigner } from '../helpers/forge.ts'
import { arenaPerTest } from '../helpers/rogue.ts'

/** How `viewer` shows `other` (undefined: not at all). */
const seen = (viewer: TestPeer, other: TestPeer): PresenceInfo | undefined =>
  viewer.messenger.people().find((p) => p.author === other.messenger.authorId)

/** Waits until `viewer` shows `other` with the fields of `want`. */
async function untilSeen(
  viewer: TestPeer,
  other: TestPeer,
  want: Partial<PresenceInfo>,
  timeout = 10_000,
): Promise<void> {
  await vi.waitFor(() => expect(seen(viewer, other)).toMatchObject(want), {
    timeout,
    interval: 50,
  })
}

/**
 * Connects `a` and `b` and waits until each knows the other follows presence: an announcement
 * made earlier would reach nobody (the periodic one, ≤ 5 s later, would).
 */
async function link(a: TestPeer, b: TestPeer): Promise<void> {
  await connect(a, b)
  await vi.waitFor(() => {
    expect(a.net.topicPeers(PRESENCE_TOPIC)).toContain(b.net.peerId)
    expect(b.net.topicPeers(PRESENCE_TOPIC)).toContain(a.net.peerId)
  })
}

describe('presence (TCP on 127.0.0.1, default settings)', () => {
  const { set, start } = arenaPerTest()

  it('[PRES1] two peers see each other online, with their names', async () => {
    const [a, b] = [await set.add({ name: 'Ada' }), await set.add({ name: 'Bob' })]
    await connect(a, b)
    // Nothing is said on connect: the next periodic announcement (≤ 5 s) brings each in.
    await untilSeen(a, b, { name: 'Bob', status: 'online', peer: b.net.peerId, self: false })
    await untilSeen(b, a, { name: 'Ada', status: 'online', peer: a.net.peerId, self: false })
    expect(a.messenger.people().filter((p) => p.self)).toMatchObject([{ name: 'Ada' }])
  })

  it("[PRES2] presence.set('away') and a new name propagate", async () => {
    const [a, b] = [await set.add({ name: 'Ada' }), await set.add({ name: 'Bob' })]
    await link(a, b)
    a.messenger.presence.set('away')
    await untilSeen(b, a, { name: 'Ada', status: 'away' })
    a.messenger.presence.set('online', 'Ada L.')
    await untilSeen(b, a, { name: 'Ada L.', status: 'online' })
  })

  it('[PRES3] a peer that vanishes without a goodbye shows as offline within 15 s', async () => {
    const [a, b] = [await set.add({ name: 'Ada' }), await set.add({ name: 'Bob' })]
    await link(a, b)
    a.messenger.presence.set('online') // announce now rather than at the next tick
    await untilSeen(b, a, { status: 'online' })
    const heard = seen(b, a)!.lastSeen
    // The network goes away under a running messenger: no 'offline' announcement is sent.
    await a.net.stop()
    await untilSeen(b, a, { status: 'offline' }, 16_000)
    expect(seen(b, a)!.lastSeen).toBeGreaterThanOrEqual(heard)
  })

  it('[PRES4] a restarted peer is shown again at once, not after as many announcements as before', async () => {
    const [a, b] = [await set.add({ name: 'Ada' }), await set.add({ name: 'Bob' })]
    await link(a, b)
    for (let i = 1; i <= 20; i++) a.messenger.presence.set('online', `Ada ${i}`)
    await untilSeen(b, a, { name: 'Ada 20' })
    const again = set.track(await a.restart()) // same keys and peer id; says 'offline' first
    await untilSeen(b, a, { status: 'offline' })
    await link(again, b)
    again.messenger.presence.set('online', 'Ada again')
    await untilSeen(b, again, { name: 'Ada again', status: 'online' })
  })

  it('[PRES5] forged presence frames are ignored', async () => {
    const arena = await start()
    const { a, b, rogue } = arena
    a.messenger.presence.set('online', 'Ada')
    await untilSeen(b, a, { name: 'Ada', status: 'online' })
    const body = (author: Uint8Array, name: string, status: 'online' | 'away') => ({
      author,
      peer: rogue.peerId,
      name,
      status,
      wall: Date.now(),
      seq: 1_000_000,
    })
    // A newcomer with one bit of its signature flipped, and a's key signed by someone else.
    const stranger = newSigner()
    const strangerBody = body(stranger.publicKey, 'stranger', 'online')
    const strangerSig = flipBit(await signPresence(stranger, strangerBody), 3)
    const asA = body(a.messenger.identity.signer.publicKey, 'Mallory', 'away')
    const mallory = newSigner()
    const asASig = await mallory.sign(new Uint8Array(64)) // any signature but a's
    await rogue.publish(
      PRESENCE_TOPIC,
      encodeFrame({ type: 'presence', ...strangerBody, sig: strangerSig }),
    )
    await rogue.publish(PRESENCE_TOPIC, encodeFrame({ type: 'presence', ...asA, sig: asASig }))
    // Then an honest newcomer over the same link: once it shows, the forged frames were handled.
    const control = body(mallory.publicKey, 'control', 'online')
    const controlSig = await signPresence(mallory, control)
    await rogue.publish(
      PRESENCE_TOPIC,
      encodeFrame({ type: 'presence', ...control, sig: controlSig }),
    )
    for (const viewer of [a, b]) {
      await vi.waitFor(() =>
        expect(viewer.messenger.people().map((p) => p.name)).toContain('control'),
      )
      const names = viewer.messenger.people().map((p) => p.name)
      expect(names).not.toContain('stranger')
      expect(names).not.toContain('Mallory')
    }
    expect(seen(b, a)).toMatchObject({ name: 'Ada', status: 'online', peer: a.net.peerId })
  })
})
