/**
 * Live-traffic commands of a bench peer: paced sends, flood, and watchers that note when each
 * message becomes visible to a reader of `messages(room)` — what the UI shows.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { roomTopic } from '../../src/net/constants.ts'
import { decodeFrame } from '../../src/crdt/wire.ts'
import { decodeEntry } from '../../src/crdt/entry.ts'
import type { Messenger } from '../../src/core/messenger.ts'
import { now, sleep, until } from '../lib/clock.ts'
import type { TimedPayload } from '../lib/counting-net.ts'
import type { Commands, SendRecord, WatchReport } from '../lib/protocol.ts'
import { perPeer, type BenchPeer } from './node.ts'

type Handler<C extends keyof Commands> = (
  peer: BenchPeer,
  args: Commands[C]['args'],
) => Promise<Commands[C]['result']>

/** A `bytes`-long ASCII text that says which message it is. */
export function benchText(i: number, bytes: number): string {
  const head = `bench message ${i} `
  return head + 'x'.repeat(Math.max(0, bytes - head.length))
}

/** The seq in a message id (`<author prefix>.<seq>`). */
export const seqOfId = (id: string): number => Number(id.slice(id.lastIndexOf('.') + 1))

export function messengerOf(peer: BenchPeer): Messenger {
  if (peer.messenger === undefined) throw new Error('not a messenger peer')
  return peer.messenger
}

export const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))

/** Netted payload for the bare-net bench: index, then random bytes (ids are content hashes). */
function netPayload(i: number, bytes: number): Uint8Array {
  const p = new Uint8Array(bytes)
  crypto.getRandomValues(p)
  new DataView(p.buffer).setUint32(0, i)
  return p
}

export const send: Handler<'send'> = async (peer, { room, count, rate, bytes }) => {
  const interval = 1000 / rate
  const start = now() + 10
  const records: SendRecord[] = []
  const pending: Promise<void>[] = []
  for (let i = 0; i < count; i++) {
    await sleep(start + i * interval - now())
    const tCall = now()
    if (peer.messenger === undefined) {
      pending.push(
        peer.net
          .publish(room, netPayload(i, bytes))
          .then(() => void records.push({ seq: i, tCall, tStored: now() })),
      )
    } else {
      pending.push(
        peer.messenger
          .post(room, benchText(i, bytes))
          .then((p) => void records.push({ seq: p.seq, tCall, tStored: now() })),
      )
    }
  }
  await Promise.all(pending)
  return { records }
}

interface Watcher {
  /** Requests sent before the watch started. */
  requests0: number
  shown: Map<number, number>
  reads: number[]
  /** How late this process's event loop ran while watching. */
  loop: IntervalHistogram
  off: () => void
}
/** Each peer's watchers by room (a process may run several peers). */
const watchersOf = perPeer(() => new Map<string, Watcher>())

export const watch: Handler<'watch'> = async (peer, { room }) => {
  const w: Watcher = {
    requests0: peer.net.counts().requestsOut,
    shown: new Map(),
    reads: [],
    loop: monitorEventLoopDelay({ resolution: 10 }),
    off: () => undefined,
  }
  w.loop.enable()
  const watchers = watchersOf(peer)
  watchers.get(room)?.loop.disable()
  watchers.get(room)?.off()
  watchers.set(room, w)
  if (peer.messenger === undefined) {
    w.off = peer.net.subscribe(room, (msg) => {
      const i = new DataView(msg.data.buffer, msg.data.byteOffset).getUint32(0)
      if (!w.shown.has(i)) w.shown.set(i, now())
    })
    return {}
  }
  const messenger = peer.messenger
  let reading = false
  let dirty = false
  // A read hands back the same objects for messages it showed before: only new ones are parsed.
  const noted = new WeakSet<object>()
  const read = async (): Promise<void> => {
    reading = true
    try {
      do {
        dirty = false
        const t0 = now()
        const msgs = await messenger.messages(room)
        const t = now()
        w.reads.push(t - t0)
        for (const m of msgs) {
          if (noted.has(m)) continue
          noted.add(m)
          const seq = seqOfId(m.id)
          if (!w.shown.has(seq)) w.shown.set(seq, t)
        }
      } while (dirty)
    } finally {
      reading = false
    }
  }
  // A UI re-reads on change, one read at a time: changes during a read cause one more read.
  w.off = messenger.onRoomChange((r) => {
    if (r !== room) return
    if (reading) dirty = true
    else void read()
  })
  return {}
}

/** seq → earliest time, over every entry of every push frame. */
function entrySeqTimes(timed: readonly TimedPayload[]): [number, number][] {
  const out = new Map<number, number>()
  for (const { t, data } of timed) {
    const f = decodeFrame(data)
    if (f.type !== 'push') continue
    for (const bytes of f.entries) {
      const { seq } = decodeEntry(bytes)
      if (!out.has(seq)) out.set(seq, t)
    }
  }
  return [...out]
}

/** The histogram's percentiles in ms (it counts in ns), zeros when there was none. */
function loopDelay(h: IntervalHistogram | undefined): WatchReport['loopDelay'] {
  if (h === undefined || h.count === 0) return { p50: 0, p99: 0, max: 0 }
  return { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 }
}

export const report: Handler<'report'> = async (peer, { room }) => {
  const watchers = watchersOf(peer)
  const w = watchers.get(room)
  const timed = peer.net.takeTimed()
  const messenger = peer.messenger !== undefined
  const out: WatchReport = {
    shown: w === undefined ? [] : [...w.shown],
    published: messenger ? entrySeqTimes(timed.published) : [],
    delivered: messenger ? entrySeqTimes(timed.delivered) : [],
    reads: w?.reads ?? [],
    requestsOut: peer.net.counts().requestsOut - (w?.requests0 ?? 0),
    requestTypes: peer.net.counts().requestTypes,
    loopDelay: loopDelay(w?.loop),
  }
  w?.loop.disable()
  w?.off()
  watchers.delete(room)
  return out
}

export const flood: Handler<'flood'> = async (peer, { room, count, inflight, bytes }) => {
  const messenger = messengerOf(peer)
  await messenger.createRoom(room)
  let next = 0
  let seq = 0
  const tStart = now()
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      const posted = await messenger.post(room, benchText(i, bytes))
      if (posted.seq > seq) seq = posted.seq
    }
  }
  await Promise.all(Array.from({ length: Math.min(inflight, count) }, worker))
  return { tStart, tStored: now(), seq }
}

/**
 * Whether the store holds `author`'s chain 1..seq. Asks the store, not the room's in-memory author
 * state, which may lag while entries join up above a hole (it is refreshed lazily).
 */
export async function storedUpTo(
  peer: BenchPeer,
  room: string,
  author: Uint8Array,
  seq: number,
): Promise<boolean> {
  const authors = (await peer.store?.authors(room)) ?? []
  const a = authors.find((x) => Buffer.compare(x.author, author) === 0)
  return (a?.contig ?? 0) >= seq
}

/** How long `track` waits, after the last entry is stored, for the messages to be shown. */
const SHOWN_GRACE_MS = 5_000

export const track: Handler<'track'> = async (peer, { room, author, seq, shown, timeoutMs }) => {
  const messenger = messengerOf(peer)
  const key = fromHex(author)
  await messenger.join(room)
  await until(() => storedUpTo(peer, room, key, seq), timeoutMs, `${room} up to ${seq}`, 1)
  const tStored = now()
  let count = 0
  await until(
    async () => (count = (await messenger.messages(room)).length) >= shown,
    SHOWN_GRACE_MS,
    `${shown} messages shown in ${room}`,
  ).catch(() => undefined)
  return { tStored, tShown: count >= shown ? now() : NaN, shown: count, bytes: peer.net.counts() }
}

export const newest: Handler<'newest'> = async (peer, { room, n }) => {
  const messenger = messengerOf(peer)
  const msgs = await messenger.messages(room)
  const me = messenger.get(room)?.author(messenger.identity.signer.publicKey)
  return { ids: msgs.slice(-n).map((m) => m.id), seq: me?.head.seq ?? 0 }
}

export const waitTopic: Handler<'waitTopic'> = async (peer, { topic, n, timeoutMs }) => {
  const t0 = now()
  const full = peer.messenger === undefined ? topic : roomTopic(topic)
  await until(() => peer.net.topicPeers(full).length >= n, timeoutMs, `${n} peers on ${full}`)
  return { ms: now() - t0 }
}
