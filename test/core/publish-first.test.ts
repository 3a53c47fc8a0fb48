/**
 * A local write is published while its entries are being stored (src/core/room-history.ts): the
 * peers get it without waiting for this device's commit, the post still resolves only once it is
 * stored, and a store that refuses the write after the entries went out does not fork the chain.
 * A received entry is applied to its loaded document while it is stored, and claimed (author
 * states: heads, digests, delivery acknowledgements) only once stored. Real libp2p over TCP on
 * 127.0.0.1, SQLite stores, wrapped to hold or refuse the appends of one author's entries.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PeerSet, connect, untilTexts, type TestPeer } from '../helpers/peers.ts'
import { StorageError, hex, type HistoryStore } from '../../src/core/store.ts'
import { parseMessageId } from '../../src/crdt/schema.ts'
import { dmRoomId } from '../../src/crdt/room-ids.ts'
import { roomTopic } from '../../src/net/constants.ts'

/** Runs `before` ahead of each append of `p`'s own entries (a slow or failing store). */
function wrapOwnAppends(p: TestPeer, before: () => Promise<void>, of: TestPeer = p): void {
  const me = hex(of.messenger.identity.signer.publicKey)
  const append = p.store.append.bind(p.store)
  p.store.append = (async (room, entries, head) => {
    if (head !== undefined && hex(head.author) === me) await before()
    return append(room, entries, head)
  }) satisfies HistoryStore['append']
}

/** `p`'s chain in `room` as `on` stores it: contiguous up to the head? */
async function chainOf(on: TestPeer, p: TestPeer, room: string) {
  const me = hex(p.messenger.identity.signer.publicKey)
  const a = (await on.store.authors(room)).find((x) => hex(x.author) === me)
  return { contig: a?.contig, head: a?.head.seq }
}

/** Waits until `a` knows `b` subscribed to `room`'s topic (a publish then reaches it). */
async function gossipLinked(a: TestPeer, b: TestPeer, room: string): Promise<void> {
  await vi.waitFor(() => expect(a.net.topicPeers(roomTopic(room))).toContain(b.net.peerId), {
    timeout: 20_000,
  })
}

/** Two connected peers, `a`'s first message in `general` shown on `b`, `a` gossip-linked to `b`. */
async function linkedPair(set: PeerSet): Promise<[TestPeer, TestPeer]> {
  const [a, b] = [await set.add(), await set.add()]
  await connect(a, b)
  await a.messenger.post('general', 'first')
  await untilTexts(b, 'general', ['first'])
  await gossipLinked(a, b, 'general')
  return [a, b]
}

/** A gate: `wait()` counts a waiter and blocks until `release()`. */
function hold(): { wait(): Promise<void>; release(): void; readonly waiting: number } {
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  let waiting = 0
  return {
    wait: () => {
      waiting += 1
      return gate
    },
    release: () => release(),
    get waiting() {
      return waiting
    },
  }
}

const seqOf = async (p: TestPeer, room: string, text: string): Promise<number | undefined> => {
  const m = (await p.messenger.messages(room)).find((x) => x.text === text)
  return m === undefined ? undefined : parseMessageId(m.id)?.seq
}

describe('a local write is published while it is stored', () => {
  const set = new PeerSet()
  afterEach(() => set.teardown())

  it('[PUB1] a peer shows the message while the sender is still storing it; the post resolves once stored', async () => {
    const [a, b] = await linkedPair(set)
    const gate = hold()
    wrapOwnAppends(a, async () => {
      await gate.wait()
    })
    let resolved = false
    const posting = a.messenger.post('general', 'second').then((p) => ((resolved = true), p))
    try {
      // Before: the push went out only after the store's commit, which waits here.
      await untilTexts(b, 'general', ['first', 'second'])
      expect(gate.waiting).toBe(1)
      expect(resolved).toBe(false)
      expect(await chainOf(a, a, 'general')).toEqual({ contig: 2, head: 2 })
    } finally {
      gate.release()
    }
    const posted = await posting
    expect(posted.seq).toBe(3)
    expect(await chainOf(a, a, 'general')).toEqual({ contig: 3, head: 3 })
    expect(await chainOf(b, a, 'general')).toEqual({ contig: 3, head: 3 })
  })

  it('[PUB2] a store that refuses a write after it went out: the error is told, the next write continues the chain and every peer takes it', async () => {
    const [a, b] = await linkedPair(set)
    let refuse = true
    wrapOwnAppends(a, async () => {
      if (!refuse) return
      refuse = false
      throw new StorageError('could not store entries: the disk is full (test)')
    })
    const err = await a.messenger.post('general', 'out, not stored').catch((e: unknown) => e)
    expect((err as Error).name).toBe('StorageError')
    await untilTexts(b, 'general', ['first', 'out, not stored'])
    // the message stays shown here (the peers hold it), and its entry is not stored yet
    await untilTexts(a, 'general', ['first', 'out, not stored'])
    expect(await chainOf(a, a, 'general')).toEqual({ contig: 2, head: 2 })

    await a.messenger.post('general', 'next')
    const texts = ['first', 'out, not stored', 'next']
    await untilTexts(b, 'general', texts)
    // no fork: the next entry follows the one that went out (seq + 1, its hash as prev, which b's
    // chain check verified), and this device stored both
    const out = await seqOf(a, 'general', 'out, not stored')
    expect(await seqOf(b, 'general', 'next')).toBe(out! + 1)
    expect(await chainOf(b, a, 'general')).toEqual({ contig: 4, head: 4 })
    expect(await chainOf(a, a, 'general')).toEqual({ contig: 4, head: 4 })
    for (const p of [a, b])
      expect((await p.messenger.verifyHistory('general')).problems).toEqual([])
    const again = set.track(await a.restart())
    await untilTexts(again, 'general', texts)
  })

  it('[PUB3] an encrypted dm whose first write was refused by the store: the next write uses the same epoch, the other member reads both', async () => {
    const [a, b] = [await set.add(), await set.add()]
    await connect(a, b)
    const members = [a.messenger.authorId, b.messenger.authorId].sort()
    const room = dmRoomId(members[0]!, members[1]!)
    let refuse = true
    wrapOwnAppends(a, async () => {
      if (!refuse) return
      refuse = false
      throw new StorageError('could not store entries: the disk is full (test)')
    })
    const err = await a.messenger.createRoom(room, { kind: 'dm', members }).catch((e: unknown) => e)
    expect((err as Error).name).toBe('StorageError')
    await a.messenger.post(room, 'lunch?')
    const chain = await chainOf(a, a, room)
    expect(chain.contig).toBe(chain.head)
    await b.messenger.join(room)
    await untilTexts(b, room, ['lunch?'])
    expect((await b.messenger.verifyHistory(room)).problems).toEqual([])
    expect(await b.messenger.get(room)!.locked()).toEqual([])
  })

  it('[PUB4] a received message is shown while the receiver stores it; its author state moves only once stored', async () => {
    const [a, b] = await linkedPair(set)
    const gate = hold()
    wrapOwnAppends(
      b,
      async () => {
        await gate.wait()
      },
      a,
    )
    try {
      await a.messenger.post('general', 'second')
      // Before: applied only after the receiver's commit, which waits here.
      await untilTexts(b, 'general', ['first', 'second'])
      expect(gate.waiting).toBeGreaterThanOrEqual(1)
      expect(await chainOf(b, a, 'general')).toEqual({ contig: 2, head: 2 })
      const held = b.messenger.get('general')!.author(a.messenger.identity.signer.publicKey)
      expect(held?.head.seq).toBe(2)
    } finally {
      gate.release()
    }
    await untilTexts(b, 'general', ['first', 'second'])
    await vi.waitFor(async () =>
      expect(await chainOf(b, a, 'general')).toEqual({ contig: 3, head: 3 }),
    )
    expect(b.messenger.get('general')!.author(a.messenger.identity.signer.publicKey)?.contig).toBe(
      3,
    )
  })

  it('[PUB5] a receiver whose store refuses a pushed entry gets it again, stores it and shows it once', async () => {
    const [a, b] = await linkedPair(set)
    let refused = 0
    wrapOwnAppends(
      b,
      async () => {
        if (refused > 0) return
        refused += 1
        throw new StorageError('could not store entries: the disk is full (test)')
      },
      a,
    )
    await a.messenger.post('general', 'refused once')
    await vi.waitFor(() => expect(refused).toBe(1), { timeout: 20_000 })
    // b gets it again (a pull: b's heads do not claim it), stores it and shows it once
    await a.messenger.post('general', 'then')
    await untilTexts(b, 'general', ['first', 'refused once', 'then'])
    await vi.waitFor(async () =>
      expect(await chainOf(b, a, 'general')).toEqual({ contig: 4, head: 4 }),
    )
    expect((await b.messenger.verifyHistory('general')).problems).toEqual([])
    const again = set.track(await b.restart())
    await untilTexts(again, 'general', ['first', 'refused once', 'then'])
  })
})
