/**
 * Hostile peers: forged authorship and broken chains, sent by a rogue net as gossip, as push
 * requests and as answers to pulls, are refused by every honest peer and leave nothing stored.
 * Each attack is followed by honest "control" chains over the same paths, so a refusal is never
 * mistaken for a frame that simply did not arrive. Fuzzing and oversized frames:
 * hostile-fuzz.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { roomTopic } from '../../src/net/index.ts'
import { periodOf } from '../../src/crdt/entry.ts'
import { hex, StorageError } from '../../src/core/store.ts'
import type { TestPeer } from '../helpers/peers.ts'
import { HubPeerSet } from '../helpers/hub-peers.ts'
import {
  flipBit,
  forgeChain,
  newSigner,
  pullAnswer,
  pushBytes,
  type ForgedChain,
} from '../helpers/forge.ts'
import { ROOM, arenaPerTest, servePull, stored, untilShown, type Arena } from '../helpers/rogue.ts'

const texts = (n: number, what: string): string[] =>
  Array.from({ length: n }, (_, i) => `${what} ${i + 1}`)

/**
 * Sends `pushes` as gossip and as push requests to every honest peer, and serves `pulls` to each
 * honest peer; then control chains by gossip and by pull, and waits until every peer shows them.
 * Resolves with the heads each honest peer stored before, plus the controls'.
 */
async function attack(
  arena: Arena,
  pushes: readonly Uint8Array[],
  pulls: readonly Uint8Array[][],
): Promise<Map<TestPeer, Map<string, number>>> {
  const expected = new Map<TestPeer, Map<string, number>>()
  for (const p of arena.honest) expected.set(p, (await stored(p)).heads)
  for (const frame of pushes) await arena.rogue.publish(roomTopic(ROOM), frame)
  for (const p of arena.honest) {
    for (const frame of pushes)
      for await (const _ of arena.rogue.request(p.net.peerId, frame)) void _
  }
  const viaGossip = await forgeChain({ room: ROOM, signer: newSigner(), texts: ['control gossip'] })
  const viaPull = await forgeChain({ room: ROOM, signer: newSigner(), texts: ['control pull'] })
  await arena.rogue.publish(roomTopic(ROOM), pushBytes(viaGossip))
  for (const p of arena.honest) {
    for (const frames of [...pulls, pullAnswer(viaPull)]) await servePull(arena, p, frames)
    await untilShown(p, [...viaGossip.texts, ...viaPull.texts])
    for (const c of [viaGossip, viaPull]) expected.get(p)!.set(hex(c.head.author), c.head.seq)
  }
  return expected
}

/** Every honest peer stores and shows nothing of `forged`, and exactly the heads `expected`. */
async function expectRefused(
  arena: Arena,
  forged: readonly ForgedChain[],
  expected: Map<TestPeer, Map<string, number>>,
): Promise<void> {
  for (const [i, p] of arena.honest.entries()) {
    const { hashes, heads } = await stored(p)
    const shown = (await p.messenger.messages(ROOM)).map((m) => m.text)
    for (const c of forged) {
      for (const h of c.hashes)
        expect(hashes.has(hex(h)), `peer ${i} stored ${c.texts[0]}`).toBe(false)
      for (const t of c.texts) expect(shown, `peer ${i}`).not.toContain(t)
    }
    expect(heads, `peer ${i} heads`).toEqual(expected.get(p))
  }
}

describe('hostile peers (TCP on 127.0.0.1)', () => {
  const arenas = arenaPerTest()

  it('[HOST1] a forged author or head signature is refused by every peer, nothing stored', async () => {
    const arena = await arenas.start()
    const { a } = arena
    const aKey = a.messenger.identity.signer.publicKey
    const hA = await a.messenger.join(ROOM)
    const tip = hA.author(aKey)!.head
    const snapshot = (await hA.periodDoc(periodOf(Date.now()))).encodeSnapshot()
    // Entries that would be a's next ones, signed by someone else.
    const asA = await forgeChain({
      room: ROOM,
      signer: newSigner(),
      author: aKey,
      base: { seq: tip.seq, hash: tip.hash, snapshot },
      texts: texts(2, 'forged as a'),
    })
    // A newcomer's chain with one bit of its head signature flipped.
    const badSig = await forgeChain({ room: ROOM, signer: newSigner(), texts: texts(2, 'bad sig') })
    badSig.head = { ...badSig.head, sig: flipBit(badSig.head.sig, 7) }
    const forged = [asA, badSig]
    const expected = await attack(
      arena,
      forged.map((c) => pushBytes(c)),
      forged.map((c) => pullAnswer(c)),
    )
    await expectRefused(arena, forged, expected)
  })

  it('[HOST2] a broken chain is refused by every peer, by gossip, push and pull', async () => {
    const arena = await arenas.start()
    const signer = newSigner
    // Entry 2 links to nothing; entry 3 links to entry 2 and the head signs entry 3.
    const badPrev = await forgeChain({
      room: ROOM,
      signer: signer(),
      texts: texts(3, 'bad prev'),
      badPrevAt: 1,
    })
    // A valid chain whose middle entry's update loses a bit after signing.
    const tampered = await forgeChain({ room: ROOM, signer: signer(), texts: texts(3, 'tampered') })
    const tamperedEntries = tampered.entries.map((e, i) => (i === 1 ? flipBit(e, -1) : e))
    // A valid chain, entries out of order or one missing (a pull sorts entries by seq, and keeps
    // the authentic run below a head even above a hole: only pushes can get these wrong).
    const reordered = await forgeChain({
      room: ROOM,
      signer: signer(),
      texts: texts(3, 'reordered'),
    })
    const [e1, e2, e3] = reordered.entries as [Uint8Array, Uint8Array, Uint8Array]
    const pushes = [
      pushBytes(badPrev),
      pushBytes(tampered, tamperedEntries),
      pushBytes(
        tampered,
        tampered.entries.map((e, i) => (i === 2 ? flipBit(e, -1) : e)),
      ),
      pushBytes(reordered, [e2, e1, e3]),
      pushBytes(reordered, [e1, e3]),
      pushBytes({ ...badPrev, head: reordered.head }),
    ]
    const pulls = [
      pullAnswer(badPrev),
      pullAnswer(tampered, tamperedEntries),
      pullAnswer(
        tampered,
        tampered.entries.map((e, i) => (i === 2 ? flipBit(e, -1) : e)),
      ),
      // Entries under another author's (valid) head.
      pullAnswer({ ...badPrev, head: reordered.head }),
    ]
    const expected = await attack(arena, pushes, pulls)
    await expectRefused(arena, [badPrev, tampered, reordered], expected)
  })
})

describe('storage failures', () => {
  const set = new HubPeerSet()
  afterEach(() => set.teardown())

  it('[HOST3] a room the store cannot load fails its join, and nothing rejects unhandled', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      const p = await set.add({}, (s) => ({
        ...s,
        authors: (room) =>
          room === 'broken' ? Promise.reject(new StorageError('disk gone')) : s.authors(room),
      }))
      await expect(p.messenger.join('broken')).rejects.toHaveProperty('name', 'StorageError')
      // Unhandled rejections are reported after the microtask queue drains: one turn of the loop.
      await new Promise((resolve) => setImmediate(resolve))
      expect(unhandled).toEqual([])
      await p.messenger.post(ROOM, 'still writing')
      expect((await p.messenger.messages(ROOM)).map((m) => m.text)).toEqual(['still writing'])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})
