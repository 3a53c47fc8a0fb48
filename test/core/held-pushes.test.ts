/**
 * Gossiped pushes that overtook each other. Two hops from an author, entry n + 1 can arrive before
 * entry n; gossipsub hands each message up once, so a push dropped as a gap was gone, and its room
 * was pulled from the forwarder. Held (src/core/held-pushes.ts), it is taken once the entries
 * below arrive; a hole that does not fill within HOLD_MS is pulled.
 */
import { describe, expect, it, vi } from 'vitest'
import { roomTopic } from '../../src/net/index.ts'
import { headMessage, type SignedHead } from '../../src/crdt/entry.ts'
import { encodeFrame } from '../../src/crdt/wire.ts'
import { HeldPushes } from '../../src/core/held-pushes.ts'
import { forgeChain, newSigner, type ForgedChain } from '../helpers/forge.ts'
import { ROOM, arenaPerTest, untilShown } from '../helpers/rogue.ts'
import type { DeviceSigner } from '../../src/crdt/crypto.ts'

/** The push of `c`'s entry at `seq` alone, under a head signed for that seq. */
async function pushOfSeq(c: ForgedChain, signer: DeviceSigner, seq: number): Promise<Uint8Array> {
  const hash = c.hashes[seq - 1]!
  const head: SignedHead = {
    room: c.room,
    author: c.head.author,
    seq,
    hash,
    sig: await signer.sign(headMessage(c.room, seq, hash)),
  }
  return encodeFrame({ type: 'push', room: c.room, head, entries: [c.entries[seq - 1]!] })
}

describe('held pushes', () => {
  const { start } = arenaPerTest()

  it('[HOLD1] a push that overtook the one below it is taken when that one arrives, with no pull', async () => {
    const arena = await start()
    const signer = newSigner()
    const texts = ['first words', 'second words', 'third words']
    const c = await forgeChain({ room: ROOM, signer, texts })
    const pushes = [await pushOfSeq(c, signer, 1), await pushOfSeq(c, signer, 2)]
    pushes.push(await pushOfSeq(c, signer, 3))
    // the rogue answers every pull with nothing: the later entries reach the honest peers only as
    // the gossiped pushes they got before the first (the first taken takes the second, which
    // takes the third)
    for (const push of pushes.toReversed()) await arena.rogue.publish(roomTopic(ROOM), push)
    for (const p of arena.honest) await untilShown(p, texts)
  })

  it('[HOLD2] a hole that does not fill is pulled from the forwarder', async () => {
    const arena = await start()
    const signer = newSigner()
    const c = await forgeChain({ room: ROOM, signer, texts: ['never sent', 'above a hole'] })
    const before = arena.honest.map((p) => arena.served.get(p.net.peerId) ?? 0)
    await arena.rogue.publish(roomTopic(ROOM), await pushOfSeq(c, signer, 2))
    await vi.waitFor(
      () => {
        const now = arena.honest.map((p) => arena.served.get(p.net.peerId) ?? 0)
        expect(now.every((n, i) => n > before[i]!)).toBe(true)
      },
      { timeout: 10_000, interval: 20 },
    )
  })
})

describe('HeldPushes', () => {
  it('[HOLD3] bounded per room and in bytes; takes what now connects in seq order, drops what is covered', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const expired: number[] = []
      const held = new HeldPushes(({ push }) => expired.push(push.head.seq), 1_000)
      const author = new Uint8Array(32).fill(7)
      const push = (seq: number, n = 1) => ({
        type: 'push' as const,
        room: 'r',
        head: { room: 'r', author, seq, hash: new Uint8Array(32), sig: new Uint8Array(64) },
        entries: Array.from({ length: n }, () => new Uint8Array(1)),
      })
      const from = 'peer' as Parameters<HeldPushes['hold']>[1]
      for (const [seq, n] of [
        [5, 1],
        [3, 1],
        [4, 2],
        [9, 1],
      ] as const)
        expect(held.hold(push(seq, n), from)).toBe(true)
      // contig 2: 3 connects, 4 (entries 3–4) connects, 5 and 9 do not
      expect(held.take('r', () => 2).map((h) => h.push.head.seq)).toEqual([3, 4])
      // contig 5: 5 is covered (dropped), 9 still waits
      expect(held.take('r', () => 5)).toEqual([])
      expect(held.size).toBe(1)
      vi.advanceTimersByTime(1_000)
      expect(expired).toEqual([9])
      expect(held.size).toBe(0)
      let n = 0
      while (held.hold(push(100 + n), from)) n++
      expect(n).toBe(256)
      held.clear()
      vi.advanceTimersByTime(1_000)
      expect(expired).toEqual([9])
      // the bytes bound what a peer can make us hold: 8 MiB per room, 32 MiB in all
      const big = (room: string, seq: number) => ({
        ...push(seq),
        room,
        entries: [new Uint8Array(3 * 1024 * 1024)],
      })
      expect([1, 2, 3].map((seq) => held.hold(big('r', seq), from))).toEqual([true, true, false])
      expect(held.bytes).toBe(6 * 1024 * 1024)
      const rooms = ['s', 't', 'u', 'v', 'w', 'x']
      const taken = rooms.flatMap((room) => [1, 2].map((seq) => held.hold(big(room, seq), from)))
      expect(taken.filter(Boolean)).toHaveLength(8) // 10 × 3 MiB ≤ 32 MiB
      expect(held.bytes).toBe(30 * 1024 * 1024)
      held.clear()
      expect([held.size, held.bytes]).toEqual([0, 0])
    } finally {
      vi.useRealTimers()
    }
  })
})
