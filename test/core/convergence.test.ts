/**
 * Convergence: three peers post, edit and delete concurrently while a seeded PRNG flushes gossip,
 * partitions and heals; after healing and `syncNow()` every peer holds the same history in the
 * same order, byte-identical period documents included. `PARLEY_SEED=<n>` replays one seed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Messenger } from '../../src/core/messenger.ts'
import { compareMessages } from '../../src/crdt/display.ts'
import type { HistoryStore } from '../../src/core/store.ts'
import { HubPeerSet, type HubPeer } from '../helpers/hub-peers.ts'
import { PeerSet, connect, type TestPeer } from '../helpers/peers.ts'
import { seededPrng, testSeeds, type Prng } from '../helpers/prng.ts'

const ROOM = 'general'

/** What every peer must agree on, and the posts, edits and deletions made during a run. */
interface Run {
  seed: number
  rand: Prng
  /** message id → the text it must show (its last edit; '' once deleted). */
  expected: Map<string, string>
  /** peer index → ids of the messages it posted. */
  mine: string[][]
}

interface View {
  ids: string[]
  texts: string[]
  /** period → state vector and snapshot bytes (hex) of its document. */
  docs: Record<number, { sv: [number, number][]; snapshot: string; persisted: string }>
}

type Peer = { messenger: Messenger; store: HistoryStore }

const replay = (seed: number): string => `seed ${seed} (replay: PARLEY_SEED=${seed})`

/**
 * What a peer holds: its messages and, per period, the state vector and snapshot of its live
 * document, and the snapshot it persists (flushed now), which must be the same bytes.
 */
async function view(p: Peer): Promise<View> {
  const h = await p.messenger.join(ROOM)
  await h.flush()
  const messages = await p.messenger.messages(ROOM)
  const docs: View['docs'] = {}
  for (const period of await p.store.periods(ROOM)) {
    const live = await h.periodDoc(period)
    const sv = [...live.stateVector()].sort((a, b) => a[0] - b[0])
    const snapshot = Buffer.from(live.encodeSnapshot()).toString('hex')
    const stored = await p.store.snapshot(ROOM, period)
    const persisted = stored === undefined ? 'none' : Buffer.from(stored.bytes).toString('hex')
    docs[period] = { sv, snapshot, persisted }
  }
  return { ids: messages.map((x) => x.id), texts: messages.map((x) => x.text), docs }
}

/** One random write by peer `i`: a post (mostly), an edit or a deletion of one of its posts. */
async function randomWrite(run: Run, m: Messenger, i: number, step: number): Promise<void> {
  const { rand } = run
  const own = run.mine[i]!
  const kind = own.length === 0 ? 0 : rand.int(10)
  if (kind < 7) {
    const text = `s${run.seed} #${step} by ${i}`
    const { message } = await m.post(ROOM, text)
    own.push(message.id)
    run.expected.set(message.id, text)
    return
  }
  const id = rand.pick(own)
  const h = await m.join(ROOM)
  if (kind < 9) {
    const text = `edited #${step} by ${i}`
    await h.write({ kind: 'edit', id, text })
    run.expected.set(id, text)
  } else {
    await h.write({ kind: 'remove', id })
    run.expected.set(id, '')
  }
}

/** Asserts that every peer shows exactly the expected history, in one order, with equal documents. */
async function expectConverged(run: Run, peers: readonly Peer[]): Promise<void> {
  const why = replay(run.seed)
  const views: View[] = []
  for (const p of peers) views.push(await view(p))
  const first = views[0]!
  for (const [i, v] of views.entries()) {
    expect(v.ids, `${why}: peer ${i} order`).toEqual(first.ids)
    expect(v.texts, `${why}: peer ${i} texts`).toEqual(first.texts)
    expect(v.docs, `${why}: peer ${i} period documents`).toEqual(first.docs)
    for (const d of Object.values(v.docs)) expect(d.persisted, `${why}: persisted`).toBe(d.snapshot)
  }
  expect(new Set(first.ids).size, `${why}: duplicate ids`).toBe(first.ids.length)
  expect([...first.ids].sort(), `${why}: every resolved post, once`).toEqual(
    [...run.expected.keys()].sort(),
  )
  const shown = new Map(first.ids.map((id, k) => [id, first.texts[k]]))
  for (const [id, text] of run.expected) expect(shown.get(id), `${why}: ${id}`).toBe(text)
  const messages = await peers[0]!.messenger.messages(ROOM)
  expect(messages.toSorted(compareMessages), `${why}: display order`).toEqual(messages)
}

const newRun = (seed: number, peers: number): Run => ({
  seed,
  rand: seededPrng(seed),
  expected: new Map(),
  mine: Array.from({ length: peers }, () => []),
})

describe('convergence on the memory hub', () => {
  const set = new HubPeerSet()
  afterEach(() => set.teardown())

  async function settle(peers: readonly HubPeer[]): Promise<void> {
    set.hub.heal()
    await set.hub.flush()
    for (const p of peers) await p.messenger.syncNow()
    await set.hub.flush()
  }

  for (const seed of testSeeds(0x5eed_0001, 5)) {
    it(`[CONV1] three peers converge under random partitions (seed ${seed})`, async () => {
      const peers = [await set.add(), await set.add(), await set.add()]
      const ids = peers.map((p) => p.net.peerId)
      const run = newRun(seed, peers.length)
      const { rand } = run
      for (let step = 0; step < 60; step++) {
        const r = rand.int(20)
        if (r < 8) {
          const i = rand.int(peers.length)
          await randomWrite(run, peers[i]!.messenger, i, step)
        } else if (r < 10) {
          // A burst: every peer writes at once.
          await Promise.all(peers.map((p, i) => randomWrite(run, p.messenger, i, step)))
        } else if (r < 14) {
          await set.hub.flush()
        } else if (r < 16) {
          set.hub.heal()
          const alone = rand.int(peers.length)
          set.hub.partition(
            [ids[alone]!],
            ids.filter((_, k) => k !== alone),
          )
        } else if (r < 18) {
          set.hub.heal()
        } else {
          await rand.pick(peers).messenger.syncNow()
        }
      }
      await settle(peers)
      await expectConverged(run, peers)
    })
  }

  it('[CONV2] concurrent writes on both sides of a partition are ordered the same everywhere', async () => {
    const peers = [await set.add(), await set.add(), await set.add()]
    const [a, b, c] = peers as [HubPeer, HubPeer, HubPeer]
    const run = newRun(testSeeds(0x5eed_0002, 1)[0]!, peers.length)
    const { message } = await a.messenger.post(ROOM, 'before the split')
    run.expected.set(message.id, message.text)
    run.mine[0]!.push(message.id)
    await settle(peers)
    set.hub.partition([a.net.peerId], [b.net.peerId, c.net.peerId])
    for (let round = 0; round < 5; round++) {
      await Promise.all(peers.map((p, i) => randomWrite(run, p.messenger, i, round)))
      await set.hub.flush()
    }
    for (const p of [b, c]) await p.messenger.syncNow()
    const sideB = (await b.messenger.messages(ROOM)).map((m) => m.id)
    expect((await c.messenger.messages(ROOM)).map((m) => m.id)).toEqual(sideB)
    await settle(peers)
    await expectConverged(run, peers)
    // Each side's history keeps its order inside the merged one.
    const merged = (await a.messenger.messages(ROOM)).map((m) => m.id)
    expect(merged.filter((id) => sideB.includes(id))).toEqual(sideB)
  })

  it('[CONV4] syncNow pulls from every peer whose history differs (five peers)', async () => {
    const peers: HubPeer[] = []
    for (let i = 0; i < 5; i++) peers.push(await set.add())
    const ids = peers.map((p) => p.net.peerId)
    for (const x of ids)
      set.hub.partition(
        [x],
        ids.filter((y) => y !== x),
      )
    const run = newRun(testSeeds(0x5eed_0004, 1)[0]!, peers.length)
    for (const [i, p] of peers.entries()) await randomWrite(run, p.messenger, i, 0)
    set.hub.heal()
    // One peer's syncNow alone must bring it everything: every other peer holds something new.
    await peers[0]!.messenger.syncNow()
    const got = (await peers[0]!.messenger.messages(ROOM)).map((m) => m.id)
    expect(got.toSorted(), replay(run.seed)).toEqual([...run.expected.keys()].sort())
  })
})

describe('convergence over libp2p TCP (127.0.0.1)', () => {
  const set = new PeerSet()
  afterEach(() => set.teardown())

  /** Connects every pair of started peers that is not connected. */
  async function mesh(peers: readonly TestPeer[], down: ReadonlySet<number>): Promise<void> {
    for (const [i, a] of peers.entries()) {
      for (const [k, b] of peers.entries()) {
        if (k <= i || down.has(i) || down.has(k)) continue
        // Retried: libp2p refuses a sixth inbound connection within a second from one host.
        await vi.waitFor(
          async () => {
            if (!a.net.peers().includes(b.net.peerId)) await connect(a, b)
          },
          { timeout: 15_000, interval: 250 },
        )
      }
    }
  }

  for (const seed of testSeeds(0x5eed_0003, 2)) {
    it(`[CONV3] three TCP peers converge while peers drop off and come back (seed ${seed})`, async () => {
      const peers = [await set.add(), await set.add(), await set.add()]
      const run = newRun(seed, peers.length)
      const { rand } = run
      const down = new Set<number>()
      await mesh(peers, down)
      for (let step = 0; step < 25; step++) {
        const r = rand.int(10)
        const i = rand.int(peers.length)
        if (r < 5) {
          await randomWrite(run, peers[i]!.messenger, i, step)
        } else if (r < 6) {
          await Promise.all(peers.map((p, k) => randomWrite(run, p.messenger, k, step)))
        } else if (r < 8 && !down.has(i) && down.size < 2) {
          // Partition: the peer's network goes away without a goodbye; its messenger keeps writing.
          await peers[i]!.net.stop()
          down.add(i)
        } else if (down.size > 0) {
          const back = rand.pick([...down])
          await peers[back]!.net.start()
          down.delete(back)
          await mesh(peers, down)
        }
      }
      for (const i of down) await peers[i]!.net.start()
      down.clear()
      await mesh(peers, down)
      for (const p of peers) await p.messenger.syncNow()
      await expectConverged(run, peers)
    })
  }
})
