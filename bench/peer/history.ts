/**
 * History commands of a bench peer: a late joiner catching up (acting like the UI: re-read on
 * change, load older periods while fewer than a page is shown), a cold start on an existing data
 * dir, and resident memory.
 */
import type { DisplayMessage } from '../../src/crdt/period-doc.ts'
import { now, until } from '../lib/clock.ts'
import type { Commands, MemSample } from '../lib/protocol.ts'
import { fromHex, messengerOf, storedUpTo } from './live.ts'
import { startBenchPeer, type BenchPeer } from './node.ts'

/** Messages a page shows: the target is to show the newest page of a room. */
export const PAGE = 50

export function memSample(): MemSample {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.()
  const m = process.memoryUsage()
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  }
}

function endsWith(msgs: readonly DisplayMessage[], ids: readonly string[]): boolean {
  if (msgs.length < ids.length) return false
  const off = msgs.length - ids.length
  return ids.every((id, i) => msgs[off + i]!.id === id)
}

export async function catchup(
  peer: BenchPeer,
  args: Commands['catchup']['args'],
): Promise<Commands['catchup']['result']> {
  const messenger = messengerOf(peer)
  await messenger.join(args.room)
  const key = fromHex(args.author)
  peer.net.resetCounts()
  peer.timings.take()
  let firstShown: number | undefined
  let newest50: number | undefined
  let all: number | undefined
  let cpuNewest: NodeJS.CpuUsage | undefined
  let reading = false
  let dirty = false
  const read = async (): Promise<void> => {
    reading = true
    try {
      do {
        dirty = false
        const msgs = await messenger.messages(args.room)
        if (firstShown === undefined && msgs.length > 0) firstShown = now()
        if (newest50 === undefined && endsWith(msgs, args.newest)) {
          newest50 = now()
          cpuNewest = process.cpuUsage(cpu0)
        }
        // A UI with room for a page asks for older history while it shows less than one.
        if (newest50 === undefined && msgs.length < PAGE && (await messenger.loadOlder(args.room)))
          dirty = true
      } while (dirty)
    } finally {
      reading = false
    }
  }
  const off = messenger.onRoomChange((r) => {
    if (r !== args.room) return
    if (reading) dirty = true
    else void read()
  })
  let polling = false
  const poll = setInterval(() => {
    if (all !== undefined || polling) return
    polling = true
    void storedUpTo(peer, args.room, key, args.seq)
      .then((done) => {
        if (done && all === undefined) all = now()
      })
      .finally(() => (polling = false))
  }, 2)
  const monoUs = (): number => Number(process.hrtime.bigint() / 1000n)
  const t0 = now()
  const fromUs = monoUs()
  const cpu0 = process.cpuUsage()
  try {
    await messenger.dial(args.addr)
    const connected = now() - t0
    await until(() => all !== undefined && newest50 !== undefined, args.timeoutMs, 'catch-up')
    const cpu = process.cpuUsage(cpu0)
    const profileWindow = { fromUs, toUs: monoUs() }
    const bytes = peer.net.counts()
    const timings = peer.timings.take()
    // The UI-like reader has done its job: loading the rest is timed on its own.
    off()
    const memAfterCatchup = memSample()
    const t1 = now()
    while (await messenger.loadOlder(args.room));
    const shownAfterLoadAll = (await messenger.messages(args.room)).length
    const loadAll = now() - t1
    return {
      connected,
      firstShown: (firstShown ?? NaN) - t0,
      newest50: newest50! - t0,
      all: all! - t0,
      loadAll,
      shownAfterLoadAll,
      bytes,
      cpuMs: (cpu.user + cpu.system) / 1000,
      cpuNewestMs: cpuNewest === undefined ? NaN : (cpuNewest.user + cpuNewest.system) / 1000,
      timings,
      memAfterCatchup,
      memAfterLoadAll: memSample(),
      profileWindow,
    }
  } finally {
    off()
    clearInterval(poll)
  }
}

/** Starts a messenger on an existing data dir: the newest page, then the whole history. */
export async function coldLoad(
  args: Commands['coldLoad']['args'],
): Promise<{ peer: BenchPeer; result: Commands['coldLoad']['result'] }> {
  const uptimeAtStart = performance.now()
  const t0 = now()
  const peer = await startBenchPeer({ dir: args.dir, kind: 'messenger' })
  const messenger = messengerOf(peer)
  const first = await messenger.messages(args.room)
  const newestPage = now() - t0
  const timingsNewest = peer.timings.take()
  const memAfterNewest = memSample()
  const t1 = now()
  while (await messenger.loadOlder(args.room));
  const allCount = (await messenger.messages(args.room)).length
  const all = now() - t1
  const timingsAll = peer.timings.take()
  return {
    peer,
    result: {
      uptimeAtStart,
      phases: peer.info.phases,
      newestPage,
      newestPageCount: first.length,
      all,
      allCount,
      memAfterNewest,
      memAfterAll: memSample(),
      timingsNewest,
      timingsAll,
    },
  }
}
