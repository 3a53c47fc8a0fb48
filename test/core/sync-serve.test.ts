/**
 * The serving side of a pull (src/core/sync-serve.ts): what frames a catch-up of a room that spans
 * many days is sent in, and that a joiner still verifies, stores and shows all of it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { HubPeerSet } from '../helpers/hub-peers.ts'
import { createClock } from '../../src/crdt/hlc.ts'
import { META_PERIOD, PERIOD_MS, decodeEntry } from '../../src/crdt/entry.ts'
import { decodeFrame, type Frame } from '../../src/crdt/wire.ts'
import {
  FIRST_ENTRIES_FRAME_BYTES,
  FIRST_FRAME_ENTRIES,
  PULL_FRAME_BYTES,
  servePull,
} from '../../src/core/sync-serve.ts'
import { hex } from '../../src/core/store.ts'
import { forgeChain, newSigner, pushBytes } from '../helpers/forge.ts'
import type { PeerNet } from '../../src/net/index.ts'

const DAYS = 12
const PER_DAY = 150

/** A request as the tests log it: its type, and a pull's room. */
const logged = (f: Frame): string => (f.type === 'pull' ? `pull ${f.room}` : f.type)

/** Sends each request `net` makes through `hook`, given its decoded frame and the real request. */
function intercept(
  net: PeerNet,
  hook: (f: Frame, send: () => AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>,
): void {
  const request = net.request.bind(net)
  net.request = (...args: Parameters<PeerNet['request']>) =>
    hook(decodeFrame(args[1]), () => request(...args))
}

describe('servePull', () => {
  const set = new HubPeerSet()
  afterEach(() => set.teardown())

  /** A peer holding `days` days of `perDay` messages of ~400 bytes in 'general'. */
  async function author(
    days = DAYS,
    perDay = PER_DAY,
  ): Promise<{ texts: string[]; peer: Awaited<ReturnType<typeof set.add>> }> {
    let t = Date.now() - (days + 1) * PERIOD_MS
    const peer = await set.add({ clock: createClock(() => t) })
    const texts: string[] = []
    for (let d = 0; d < days; d++) {
      for (let i = 0; i < perDay; i++) {
        t += PERIOD_MS / perDay
        texts.push(`day ${d} message ${i} ${'x'.repeat(380)}`)
        await peer.messenger.post('general', texts.at(-1)!)
      }
    }
    return { texts, peer }
  }

  /** An author's room and a joiner that holds it empty, cut off from each other until healed. */
  async function apart(days?: number, perDay?: number) {
    const { texts, peer } = await author(days, perDay)
    const joiner = await set.add({ retainAll: false })
    set.hub.partition([joiner.net.peerId], [peer.net.peerId])
    await joiner.messenger.join('general')
    return { texts, peer, joiner }
  }

  it('[SERVE1] sends everything newest first, in frames that start small and grow', async () => {
    const { peer } = await author()
    const h = peer.messenger.get('general')!
    const frames: Frame[] = []
    for await (const bytes of servePull('general', h, [])) frames.push(decodeFrame(bytes))
    expect(frames[0]!.type).toBe('heads')
    expect(frames.at(-1)!.type).toBe('end')
    const entries = frames.flatMap((f) => (f.type === 'entries' ? [f] : []))
    // what the budget counts: each entry with its length (two bytes for these ~470-byte ones)
    const size = (es: readonly Uint8Array[]): number => es.reduce((s, e) => s + e.length + 2, 0)
    // the newest page arrives on its own, the rest in frames that double up to the cap: each one
    // but the last full to within an entry (~470 bytes with its length)
    for (const [i, f] of entries.entries()) {
      const budget = Math.min(FIRST_ENTRIES_FRAME_BYTES * 2 ** i, PULL_FRAME_BYTES)
      expect(size(f.entries)).toBeLessThanOrEqual(budget)
      if (i < entries.length - 1) expect(size(f.entries)).toBeGreaterThan(budget - 1024)
    }
    const periods = await h.periods()
    expect(entries.length).toBeLessThan(periods.length / 2)
    // every entry once, each chain newest first, each frame labelled with its first entry's period
    const all = entries.flatMap((f) => f.entries.map(decodeEntry))
    const me = hex(peer.messenger.identity.signer.publicKey)
    const seqs = all.filter((e) => hex(e.author) === me).map((e) => e.seq)
    const head = h.author(peer.messenger.identity.signer.publicKey)!.head.seq
    // the room's meta entry (seq 1) comes first: its document sorts above every day
    expect(seqs).toEqual([1, ...Array.from({ length: head - 1 }, (_, i) => head - i)])
    for (const f of entries) expect(f.period).toBe(decodeEntry(f.entries[0]!).period)
  })

  it('[SERVE2] a joiner verifies, stores and shows a room sent in growing frames', async () => {
    const { texts } = await author()
    const joiner = await set.add()
    await joiner.messenger.join('general')
    await joiner.messenger.syncNow()
    while (await joiner.messenger.loadOlder('general'));
    expect((await joiner.messenger.messages('general')).map((m) => m.text)).toEqual(texts)
    const report = await joiner.messenger.verifyHistory('general')
    expect(report.problems).toEqual([])
    expect(report.verified).toBe(texts.length + 1)
  })

  it('[SERVE3] a room held empty is pulled from a peer as it connects, not after the digests', async () => {
    const { texts, peer, joiner } = await apart()
    // both digest exchanges (the joiner's, and the author's, whose answer also starts a pull)
    // are held back until the catch-up is over
    const sent: string[] = []
    let release = (): void => undefined
    const held = new Promise<void>((resolve) => (release = resolve))
    let digestedNow = (): void => undefined
    const digested = new Promise<void>((resolve) => (digestedNow = resolve))
    const hold = (net: PeerNet, log: string[], done: () => void): void =>
      intercept(net, async function* (f, send) {
        log.push(logged(f))
        if (f.type === 'digest') await held
        yield* send()
        if (f.type === 'digest') done()
      })
    hold(joiner.net, sent, () => digestedNow())
    hold(peer.net, [], () => undefined)
    set.hub.heal()
    await vi.waitFor(
      async () => expect((await joiner.messenger.messages('general')).length).toBeGreaterThan(0),
      { timeout: 10_000 },
    )
    expect(sent).toEqual(['digest', 'pull general'])
    release()
    await digested
    await joiner.messenger.syncNow()
    // the digest reply (the room differed when it was sent) does not pull it again: syncNow's
    // digest is all that follows
    expect(sent.slice(2)).toEqual(['digest'])
    while (await joiner.messenger.loadOlder('general'));
    expect((await joiner.messenger.messages('general')).map((m) => m.text)).toEqual(texts)
  })

  it('[SERVE5] a quiet room: the first frame ends with the day that completes a page', async () => {
    // 30 messages a day of ~470 bytes: the first frame's budget would hold four and a half days
    const perDay = 30
    const { texts, peer } = await author(6, perDay)
    const frames: Frame[] = []
    for await (const bytes of servePull('general', peer.messenger.get('general')!, []))
      frames.push(decodeFrame(bytes))
    const raw = frames.flatMap((f) => (f.type === 'entries' ? [f.entries] : []))
    const size = (es: readonly Uint8Array[]): number => es.reduce((n, e) => n + e.length + 2, 0)
    const entries = raw.map((es) => es.map(decodeEntry))
    const periods = (es: readonly { period: number }[]): number[] => [
      ...new Set(es.map((e) => e.period)),
    ]
    const all = entries.flat()
    const perPeriod = (p: number): number => all.filter((e) => e.period === p).length
    const first = entries[0]!
    const [meta, ...days] = periods(first)
    // the room's meta entry, then whole days, newest first, up to the one that completes a page
    expect(meta).toBe(META_PERIOD)
    expect(days.length).toBeGreaterThan(1)
    for (const d of days) expect(first.filter((e) => e.period === d).length).toBe(perPeriod(d))
    expect(first.length).toBeGreaterThanOrEqual(FIRST_FRAME_ENTRIES)
    expect(first.length - perPeriod(days.at(-1)!)).toBeLessThan(FIRST_FRAME_ENTRIES)
    // the byte budget alone would have taken in the next day too
    const next = periods(all).filter((p) => p !== META_PERIOD)[days.length]!
    const nextBytes = raw.flat().filter((_, i) => all[i]!.period === next)
    expect(size(raw[0]!) + size(nextBytes)).toBeLessThanOrEqual(FIRST_ENTRIES_FRAME_BYTES)
    expect(all.length).toBe(texts.length + 1)
    const joiner = await set.add()
    await joiner.messenger.join('general')
    await joiner.messenger.syncNow()
    while (await joiner.messenger.loadOlder('general'));
    expect((await joiner.messenger.messages('general')).map((m) => m.text)).toEqual(texts)
  })

  it('[SERVE6] a peer does not pull a room from one whose digest says it holds none of it', async () => {
    const { texts, peer, joiner } = await apart(2, 30)
    // the author's requests, logged; the joiner's pull held until the author has its digest
    const asked: string[] = []
    let digested = (): void => undefined
    const authorDigested = new Promise<void>((resolve) => (digested = resolve))
    intercept(peer.net, async function* (f, send) {
      asked.push(logged(f))
      yield* send()
      if (f.type === 'digest') digested()
    })
    intercept(joiner.net, async function* (f, send) {
      if (f.type === 'pull') await authorDigested
      yield* send()
    })
    set.hub.heal()
    await authorDigested
    await joiner.messenger.syncNow()
    expect((await joiner.messenger.messages('general')).map((m) => m.text)).toEqual(texts)
    await peer.messenger.syncNow()
    // digests only: the joiner's reply to the first said it held nothing, later ones the same
    expect(asked.length).toBeGreaterThan(1)
    expect(asked.every((t) => t === 'digest')).toBe(true)
  })

  it('[SERVE4] an entry bigger than a frame budget goes in a frame of its own', async () => {
    // a message of 600 KB (the messenger posts at most 2,000 characters; the record allows 1 MiB,
    // and any author may write one): over the 256 KiB budget, under the frame cap
    const texts = ['before', 'x'.repeat(600_000), 'after']
    const chain = await forgeChain({ room: 'general', signer: newSigner(), texts })
    const [a, sender] = [await set.add(), await set.add()]
    for await (const _ of sender.net.request(a.net.peerId, pushBytes(chain))) void _
    const frames: Frame[] = []
    for await (const bytes of servePull('general', a.messenger.get('general')!, []))
      frames.push(decodeFrame(bytes))
    const counts = frames.flatMap((f) => (f.type === 'entries' ? [f.entries.length] : []))
    expect(counts.reduce((x, y) => x + y, 0)).toBe(texts.length)
    const joiner = await set.add({ retainAll: false })
    await joiner.messenger.join('general')
    await joiner.messenger.syncNow()
    expect((await joiner.messenger.messages('general')).map((m) => m.text)).toEqual(texts)
  })
})
