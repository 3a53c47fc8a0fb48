import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createLibp2pNet } from '../../src/net/libp2p.ts'
import { Messenger } from '../../src/core/messenger.ts'
import { ParleyClient } from '../../src/core/client.ts'
import { openIdbStore } from '../../src/core/idb-store.ts'
import { createIdbDocs } from '../../src/crdt/idb-docs.ts'
import { authorId } from '../../src/crdt/entry.ts'
import { createNobleSigner, nobleCrypto } from '../../src/crdt/crypto.ts'
import { PeerSet, type TestPeer } from '../helpers/peers.ts'

interface TestClient {
  client: ParleyClient
  stop(): Promise<void>
  dial(node: TestPeer): Promise<void>
}

/** A browser-like client (IndexedDB store and y-indexeddb, noble crypto, not retainAll) on TCP. */
async function startClient(userId: string, stops: (() => Promise<void>)[]): Promise<TestClient> {
  const seed = new Uint8Array(randomBytes(32))
  const signer = createNobleSigner(seed)
  const store = await openIdbStore(`c-${userId}`, new IDBFactory())
  const net = await createLibp2pNet({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
  // Period documents persisted with y-indexeddb, as in the browser (src/core/browser.ts).
  const docs = createIdbDocs({ prefix: `c-${userId}-${Buffer.from(seed).toString('hex')}` })
  const messenger = new Messenger({ net, store, signer, crypto: nobleCrypto, name: userId, docs })
  await net.start()
  await messenger.start()
  const client = new ParleyClient({
    messenger,
    store,
    account: { userId, name: userId.toUpperCase(), author: authorId(signer.publicKey) },
  })
  await client.start()
  const stop = async (): Promise<void> => {
    await client.stop()
    await messenger.stop()
    await net.stop()
    await store.close()
  }
  stops.push(stop)
  return {
    client,
    stop,
    dial: async (node) => {
      await net.dial(node.net.addresses().find((a) => a.includes('/tcp/'))!)
      await vi.waitFor(() => expect(net.peers()).toContain(node.net.peerId))
    },
  }
}

const texts = async (c: ParleyClient, room: string): Promise<string[]> =>
  (await c.messages(room)).map((m) => m.text)

describe('ParleyClient (core of the web app) over TCP with a retainAll node', () => {
  const set = new PeerSet()
  const stops: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s()
    await set.teardown()
  })

  it('[CLI1] claims user IDs, creates and browses a room, chats both ways with unread counts', async () => {
    const node = await set.add()
    const a = await startClient('alice', stops)
    const b = await startClient('bob', stops)
    await a.dial(node)
    await b.dial(node)
    expect(await a.client.claim()).toBe('ok')
    expect(await b.client.claim()).toBe('ok')
    await vi.waitFor(() =>
      expect(
        a.client
          .people()
          .map((p) => p.userId)
          .sort(),
      ).toEqual(['alice', 'bob']),
    )
    const id = await a.client.createRoom('Design Team', 'pixels')
    expect(id).toBe('design-team')
    await vi.waitFor(() => expect(b.client.browse().map((r) => r.id)).toContain('design-team'))
    await b.client.joinRoom('design-team')
    await a.client.post('design-team', 'hello from alice')
    await vi.waitFor(async () =>
      expect(await texts(b.client, 'design-team')).toEqual(['hello from alice']),
    )
    await vi.waitFor(() =>
      expect(b.client.rooms().find((r) => r.id === 'design-team')).toMatchObject({
        name: 'Design Team',
        topic: 'pixels',
        unread: 1,
      }),
    )
    await b.client.markRead('design-team')
    expect(b.client.rooms().find((r) => r.id === 'design-team')?.unread).toBe(0)
    await b.client.post('design-team', 'hi alice')
    await vi.waitFor(async () =>
      expect(await texts(a.client, 'design-team')).toEqual(['hello from alice', 'hi alice']),
    )
    // names: the directory's, else what presence announces (a Node peer is in no directory)
    expect(a.client.nameOf(b.client.me.author)).toBe('BOB')
    const nodeName = node.messenger.people().find((p) => p.self)?.name
    await vi.waitFor(() => expect(a.client.nameOf(node.messenger.authorId)).toBe(nodeName), {
      timeout: 12_000,
    })
    const [mine] = await a.client.messages('design-team')
    await vi.waitFor(() => expect(a.client.deliveryOf(mine!)).toBe('delivered'))
  })

  it('[CLI2] two people claiming one user ID at the same moment: the earliest keeps it, the other is told', async () => {
    const node = await set.add()
    const a = await startClient('sam', stops)
    const b = await startClient('sam2', stops)
    await b.client.rename({ userId: 'sam' })
    // both claim offline (no peer), then meet through the node
    expect(await a.client.claim(100)).toBe('pending')
    expect(await b.client.claim(100)).toBe('pending')
    await a.dial(node)
    await b.dial(node)
    await vi.waitFor(
      () => {
        expect(a.client.people()).toHaveLength(2)
        expect(b.client.people()).toHaveLength(2)
      },
      { timeout: 15_000 },
    )
    const states = [a.client.me.claim, b.client.me.claim]
    expect(states.filter((s) => s === 'taken')).toHaveLength(1)
    const winner = a.client.me.claim === 'taken' ? b.client : a.client
    const lost = a.client.me.claim === 'taken' ? a.client : b.client
    expect(winner.people().find((p) => p.self)?.conflict).toBe(false)
    expect(await lost.rename({ userId: 'sam.b' })).toBe('ok')
    await vi.waitFor(() =>
      expect(
        winner
          .people()
          .map((p) => [p.userId, p.conflict])
          .sort(),
      ).toEqual([
        ['sam', false],
        ['sam.b', false],
      ]),
    )
    // a third person picking a held ID is refused
    const c = await startClient('sam', stops)
    await c.dial(node)
    expect(await c.client.claim()).toBe('taken')
  })

  it('[CLI3] a dm started from the people list reaches the other member, who joins it by itself', async () => {
    const node = await set.add()
    const a = await startClient('ann', stops)
    const b = await startClient('ben', stops)
    await a.dial(node)
    await b.dial(node)
    await a.client.claim()
    await b.client.claim()
    await vi.waitFor(() => expect(a.client.people()).toHaveLength(2))
    const ben = a.client.people().find((p) => p.userId === 'ben')!
    const dm = await a.client.startDm(ben.author)
    await a.client.post(dm, 'psst')
    await vi.waitFor(() => expect(b.client.rooms().map((r) => r.id)).toContain(dm))
    await vi.waitFor(async () => expect(await texts(b.client, dm)).toEqual(['psst']))
    await vi.waitFor(() =>
      expect(b.client.rooms().find((r) => r.id === dm)).toMatchObject({
        kind: 'dm',
        peer: a.client.me.author,
      }),
    )
  })

  it('[CLI4] a message written offline is pending, and delivered once a peer holds it', async () => {
    const node = await set.add()
    const a = await startClient('olga', stops)
    await a.client.post('general', 'written offline')
    const [m] = await a.client.messages('general')
    expect(a.client.deliveryOf(m!)).toBe('pending')
    await a.dial(node)
    await vi.waitFor(() => expect(a.client.deliveryOf(m!)).toBe('delivered'))
    await vi.waitFor(async () =>
      expect((await node.messenger.messages('general')).map((x) => x.text)).toEqual([
        'written offline',
      ]),
    )
  })
})
