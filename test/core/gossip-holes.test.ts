/**
 * Gossip delivers out of order (each message takes its own path through the mesh): a push above a
 * hole in its author's chain is stored above it, and the hole filled by the pushes on their way
 * makes the whole run held — without a pull. A hole still there a moment later is pulled.
 */
import { describe, expect, it, vi } from 'vitest'
import { roomTopic } from '../../src/net/constants.ts'
import { signHead } from '../../src/crdt/entry.ts'
import { encodeFrame } from '../../src/crdt/wire.ts'
import { GAP_WAIT_MS } from '../../src/core/sync.ts'
import { forgeChain, newSigner, type ForgedChain } from '../helpers/forge.ts'
import type { DeviceSigner } from '../../src/crdt/crypto.ts'
import type { TestPeer } from '../helpers/peers.ts'
import { ROOM, arenaPerTest, untilShown, type Arena } from '../helpers/rogue.ts'

const { start } = arenaPerTest()

/** The gossiped push of entry `seq` of `c` alone, with its own signed head. */
async function pushOf(c: ForgedChain, signer: DeviceSigner, seq: number): Promise<Uint8Array> {
  const head = await signHead(signer, ROOM, seq, c.hashes[seq - 1]!)
  return encodeFrame({ type: 'push', room: ROOM, head, entries: [c.entries[seq - 1]!] })
}

async function contigOf(p: TestPeer, c: ForgedChain): Promise<number> {
  return (await p.messenger.get(ROOM)!.authorNow(c.head.author))?.contig ?? 0
}

describe('pushes above a hole', () => {
  it('[GAP1] arriving newest first, they are all held once the oldest arrives, no pull answered', async () => {
    const arena: Arena = await start()
    const { a } = arena
    const signer = newSigner()
    const c = await forgeChain({ room: ROOM, signer, texts: ['one', 'two', 'three', 'four'] })
    // the rogue takes pulls and never answers: only the pushes can fill the hole
    arena.stuck.add(a.net.peerId)
    for (const seq of [4, 3, 2])
      await arena.rogue.publish(roomTopic(ROOM), await pushOf(c, signer, seq))
    await vi.waitFor(async () => {
      const held = await a.store.entries(ROOM, c.head.author, 1, 4)
      expect(held.map((e) => e.seq)).toEqual([2, 3, 4])
    })
    expect(await contigOf(a, c)).toBe(0)
    await arena.rogue.publish(roomTopic(ROOM), await pushOf(c, signer, 1))
    await vi.waitFor(async () => expect(await contigOf(a, c)).toBe(4))
    await untilShown(a, c.texts)
  })

  it('[GAP2] a hole gossip does not fill is pulled after GAP_WAIT_MS', async () => {
    const arena: Arena = await start()
    const { a } = arena
    const signer = newSigner()
    const c = await forgeChain({ room: ROOM, signer, texts: ['one', 'two', 'three'] })
    arena.answers.set(a.net.peerId, [
      [
        encodeFrame({ type: 'heads', room: ROOM, heads: [c.head] }),
        encodeFrame({ type: 'entries', room: ROOM, period: c.period, entries: c.entries }),
        encodeFrame({ type: 'end', room: ROOM }),
      ],
    ])
    const t0 = Date.now()
    await arena.rogue.publish(roomTopic(ROOM), await pushOf(c, signer, 3))
    await vi.waitFor(async () => expect(await contigOf(a, c)).toBe(3), { timeout: 10_000 })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(GAP_WAIT_MS)
    expect(arena.served.get(a.net.peerId)).toBe(1)
    await untilShown(a, c.texts)
  })
})
