import { afterEach, describe, expect, it } from 'vitest'
import { PeerSet, connect, untilTexts } from '../helpers/peers.ts'
import { createOffloadCrypto } from '../../src/core/crypto-offload.ts'
import { channelWorker } from '../helpers/crypto-channel.ts'
import { createClock } from '../../src/crdt/hlc.ts'

describe('messenger over real libp2p (TCP on 127.0.0.1)', () => {
  const set = new PeerSet()
  afterEach(() => set.teardown())

  it('[CORE1] three peers exchange messages both ways, same order everywhere', async () => {
    const [a, b, c] = [await set.add(), await set.add(), await set.add()]
    await connect(a, b)
    await connect(b, c)
    await a.messenger.post('general', 'from a')
    await untilTexts(c, 'general', ['from a'])
    await c.messenger.post('general', 'from c')
    await b.messenger.post('general', 'from b')
    for (const p of [a, b, c]) {
      await untilTexts(p, 'general', ['from a', 'from c', 'from b'])
    }
    const ids = await Promise.all(
      [a, b, c].map(async (p) => (await p.messenger.messages('general')).map((m) => m.id)),
    )
    expect(ids[1]).toEqual(ids[0])
    expect(ids[2]).toEqual(ids[0])
  })

  it('[CORE2] a late joiner catches up 1,000 messages', async () => {
    const a = await set.add()
    const texts: string[] = []
    const posts: Promise<unknown>[] = []
    for (let i = 0; i < 1000; i++) {
      texts.push(`message ${i}`)
      posts.push(a.messenger.post('general', `message ${i}`))
    }
    await Promise.all(posts)
    const b = await set.add()
    await connect(b, a)
    await untilTexts(b, 'general', texts)
  })

  it('[CORE5] a joiner shows every message of a day that spans several pull frames', async () => {
    // A day of ~2.5 MiB of entries is sent as several 1 MiB chunks, newest first: the newer
    // entries are stored while the day's document waits for the older ones (regression: they
    // stayed stored but unshown).
    const a = await set.add()
    const pad = 'x'.repeat(400)
    const texts = Array.from({ length: 4_000 }, (_, i) => `${i} ${pad}`)
    await Promise.all(texts.map((t) => a.messenger.post('general', t)))
    const b = await set.add()
    await connect(b, a)
    await untilTexts(b, 'general', texts, 60_000)
  })

  it('[CORE6] the browser set-up: hashing in the crypto worker, catch-up stored in small writes', async () => {
    const a = await set.add()
    const texts = Array.from({ length: 1_000 }, (_, i) => `message ${i}`)
    await Promise.all(texts.map((t) => a.messenger.post('general', t)))
    const worker = channelWorker()
    const crypto = createOffloadCrypto({ connect: () => worker.port })
    const b = await set.add({ crypto, ingestBatch: 64 })
    const writes: number[] = []
    const append = b.store.append.bind(b.store)
    b.store.append = (room, entries, head) => (
      writes.push(entries.length),
      append(room, entries, head)
    )
    await connect(b, a)
    await untilTexts(b, 'general', texts)
    expect(worker.requests()).toBeGreaterThan(0)
    expect(crypto.mode).toBe('worker')
    expect(Math.max(...writes)).toBeLessThanOrEqual(64)
    expect(writes.reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(1_000)
    const report = await b.messenger.verifyHistory('general')
    expect(report.problems).toEqual([])
    expect(report.verified).toBeGreaterThanOrEqual(1_000)
    crypto.close()
  })

  it('[CORE3] history survives a restart', async () => {
    const a = await set.add()
    await a.messenger.post('general', 'one')
    await a.messenger.post('general', 'two')
    const again = set.track(await a.restart())
    await untilTexts(again, 'general', ['one', 'two'])
    expect(again.messenger.list()).toEqual(['general'])
  })

  it('[CORE7] after a restart with a clock 10 minutes behind, new messages still come last', async () => {
    // A fresh clock at each start (the spread in startTestPeer reads the getter each time).
    let skewMs = 0
    const extra = {
      get clock() {
        return createClock(() => Date.now() + skewMs)
      },
    }
    const [a, b] = [await set.add(extra), await set.add()]
    await connect(a, b)
    await a.messenger.post('general', 'mine, before')
    await untilTexts(b, 'general', ['mine, before'])
    await b.messenger.post('general', 'theirs, before')
    await untilTexts(a, 'general', ['mine, before', 'theirs, before'])
    skewMs = -10 * 60_000
    const again = set.track(await a.restart())
    await again.messenger.post('general', 'after the restart')
    // Regression: the clock started from the wall clock alone and this came first.
    await untilTexts(again, 'general', ['mine, before', 'theirs, before', 'after the restart'])
  })

  it('[CORE4] send waits for another peer to hold the message', async () => {
    const [a, b] = [await set.add(), await set.add()]
    const posted = await a.messenger.post('general', 'ack me')
    const pending = a.messenger.waitDelivered('general', posted.seq, AbortSignal.timeout(10_000))
    await connect(a, b)
    expect(await pending).toBe(b.net.peerId)
    await untilTexts(b, 'general', ['ack me'])
  })
})
