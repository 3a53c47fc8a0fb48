/**
 * Documents of rooms nobody reads stay out of memory (`MessengerInit.docsIdleMs`, Node peers): a room
 * holding no document builds none as entries arrive, its first read loads it, it is unloaded once
 * unread and unwritten for the idle time, and local writes go to a document of the writer's own
 * entries — what every peer shows is the same as with documents always loaded.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { HubPeerSet, type HubPeer } from '../helpers/hub-peers.ts'
import { bytesSource } from '../../src/core/files/import.ts'

const IDLE_MS = 300
const ROOM = 'general'

const set = new HubPeerSet({ autoFlush: true })
afterEach(() => set.teardown())

const texts = async (p: HubPeer): Promise<string[]> =>
  (await p.messenger.messages(ROOM)).map((m) => m.text)

/** Until `p` holds every entry the `writers` wrote to the room (without reading its documents). */
async function holds(p: HubPeer, ...writers: HubPeer[]): Promise<void> {
  await vi.waitFor(async () => {
    const h = p.messenger.get(ROOM)!
    for (const w of writers) {
      const key = w.messenger.identity.signer.publicKey
      const written = w.messenger.get(ROOM)!.author(key)?.head.seq ?? 0
      expect(h.author(key)?.contig ?? 0).toBe(written)
    }
  })
}

const days = (p: HubPeer): number[] => p.messenger.get(ROOM)!.loadedDays()

describe('documents of rooms nobody reads', () => {
  it('[IDLE1] arriving messages build no document; a read loads them all; unread, it is unloaded again', async () => {
    const a = await set.add({ retainAll: false })
    const b = await set.add({ retainAll: false, docsIdleMs: IDLE_MS })
    await a.messenger.join(ROOM)
    await b.messenger.join(ROOM)
    const sent: string[] = []
    for (let i = 0; i < 30; i++) {
      sent.push(`first ${i}`)
      await a.messenger.post(ROOM, sent.at(-1)!)
    }
    await holds(b, a)
    expect(days(b)).toEqual([])
    expect(await texts(b)).toEqual(sent)
    expect(days(b)).toHaveLength(1)
    // read: it takes what arrives; unread for the idle time: unloaded
    await a.messenger.post(ROOM, 'while read')
    sent.push('while read')
    await vi.waitFor(async () => expect(await texts(b)).toEqual(sent))
    await vi.waitFor(() => expect(days(b)).toEqual([]), { timeout: 5 * IDLE_MS })
    for (let i = 0; i < 5; i++) {
      sent.push(`asleep ${i}`)
      await a.messenger.post(ROOM, sent.at(-1)!)
    }
    await holds(b, a)
    expect(days(b)).toEqual([])
    expect(await texts(b)).toEqual(sent)
  })

  it('[IDLE2] writes of a room asleep, and after it wakes, reach every peer in the same order; edits too', async () => {
    const a = await set.add({ retainAll: false })
    const b = await set.add({ retainAll: false, docsIdleMs: 60_000 })
    await a.messenger.join(ROOM)
    await b.messenger.join(ROOM)
    let n = 0 // messages shown
    for (let i = 0; i < 10; i++) {
      await b.messenger.post(ROOM, `b ${i}`)
      await a.messenger.post(ROOM, `a ${i}`)
      n += 2
    }
    await holds(a, a, b)
    await holds(b, a, b)
    // b wrote without loading the room's document
    expect(days(b)).toEqual([])
    const first = await b.messenger.post(ROOM, 'to be edited')
    await b.messenger.get(ROOM)!.write({ kind: 'edit', id: first.message.id, text: 'edited' })
    n += 1
    await holds(a, a, b)
    // awake now (read), b goes on writing: its entries reach the loaded document once stored
    expect(await texts(b)).toEqual(await texts(a))
    expect(days(b)).toHaveLength(1)
    for (let i = 0; i < 10; i++) {
      await Promise.all([b.messenger.post(ROOM, `b2 ${i}`), a.messenger.post(ROOM, `a2 ${i}`)])
      n += 2
    }
    await holds(a, a, b)
    await holds(b, a, b)
    await vi.waitFor(async () => expect(await texts(b)).toHaveLength(n))
    const shown = await texts(a)
    expect(shown).toHaveLength(n) // the edit is no message of its own
    expect(shown).toContain('edited')
    expect(shown).not.toContain('to be edited')
    expect(await texts(b)).toEqual(shown)
    // and a peer that joins later, documents always loaded, shows the same
    const c = await set.add({ retainAll: false })
    await c.messenger.join(ROOM)
    await c.messenger.syncNow()
    await holds(c, a, b)
    expect(await texts(c)).toEqual(shown)
  })

  it('[IDLE3] an always-on peer keeps the files of rooms whose documents it does not hold', async () => {
    const hub = await set.add({ retainAll: true, docsIdleMs: 60_000 })
    const a = await set.add({ retainAll: false })
    await a.messenger.join(ROOM)
    await hub.messenger.join(ROOM)
    const bytes = new Uint8Array(200_000).map((_, i) => (i * 7) % 251)
    const att = await a.messenger.files.add(bytesSource(bytes), {
      name: 'plan.bin',
      type: 'application/octet-stream',
      size: bytes.length,
    })
    await a.messenger.share(ROOM, att, 'the plan')
    await vi.waitFor(async () => expect(await hub.messenger.files.has(att.id)).toBe(true), {
      timeout: 10_000,
    })
    expect(days(hub)).toEqual([])
  })
})
