/**
 * Sustained-load commands of a bench peer (bench/load.ts): paced posts over the peer's rooms, a
 * watcher noting when each author's messages become held here (verified, stored, applied: the
 * contiguous run of the author's chain grows), a bounded wait for convergence, and the end check
 * of what `messages(room)` shows against what was reported as sent.
 */
import { hex } from '../../src/core/store.ts'
import type { RoomHistory } from '../../src/core/room-history.ts'
import { seededPrng } from '../../test/helpers/prng.ts'
import { now, sleep } from '../lib/clock.ts'
import { checkHeld, type Receipts } from '../lib/load-check.ts'
import { LOAD_SEND_GRACE_MS } from '../lib/load-plan.ts'
import type { Commands, LoadSent } from '../lib/protocol.ts'
import { messengerOf } from './live.ts'
import { perPeer, type BenchPeer } from './node.ts'

type Handler<C extends keyof Commands> = (
  peer: BenchPeer,
  args: Commands[C]['args'],
) => Promise<Commands[C]['result']>

/** `bytes` of text saying who sent it, which one it is and when it was sent (one wall clock). */
export function stampedText(name: string, i: number, tCall: number, bytes: number): string {
  const head = `load ${name} #${i} sent ${tCall.toFixed(3)} `
  return head + 'x'.repeat(Math.max(0, bytes - head.length))
}

function history(peer: BenchPeer, room: string): RoomHistory {
  const h = messengerOf(peer).get(room)
  if (h === undefined) throw new Error(`not in ${room}`)
  return h
}

export const loadSend: Handler<'loadSend'> = async (peer, a) => {
  const messenger = messengerOf(peer)
  const rng = seededPrng(a.seed)
  const interval = 1000 / a.rate
  const count = Math.floor((a.durationMs / 1000) * a.rate)
  const sent: LoadSent[] = []
  const errors: string[] = []
  const lag: number[] = []
  const pending: Promise<void>[] = []
  const stopAt = a.startAt + a.durationMs + LOAD_SEND_GRACE_MS
  let skipped = 0
  for (let i = 0; i < count; i++) {
    if (now() > stopAt) {
      skipped = count - i
      break
    }
    const due = a.startAt + i * interval
    await sleep(due - now())
    const room = rng.pick(a.rooms)
    const tCall = now()
    lag.push(tCall - due)
    pending.push(
      messenger.post(room, stampedText(a.name, i, tCall, a.bytes)).then(
        (p) => void sent.push({ room, seq: p.seq, id: p.message.id, tCall, tStored: now() }),
        (err: unknown) => void errors.push(`${room} #${i}: ${String(err)}`),
      ),
    )
  }
  await Promise.all(pending)
  return { sent, errors, lag, skipped }
}

interface RoomWatch {
  receipts: Map<string, Receipts>
  /** The same receipts by the history's own key bytes. */
  byKey: WeakMap<Uint8Array, Receipts>
  off: () => void
}
/** What one peer watches (a process may run several peers). */
interface PeerWatch {
  rooms: Map<string, RoomWatch>
  disconnects: number
  offPeers: (() => void) | undefined
}
const watchOf = perPeer((): PeerWatch => ({
  rooms: new Map(),
  disconnects: 0,
  offPeers: undefined,
}))

/**
 * Stamps what `h` now holds above what was noted. Runs on every change of every watched room, in
 * every peer: an author's receipts are found by its key's bytes (the history keeps them) before
 * its hex, so the bench does not hex 50 keys per message in each process it measures.
 */
async function note(h: RoomHistory, w: RoomWatch): Promise<void> {
  const t = now()
  for (const a of await h.authors()) {
    let r = w.byKey.get(a.author)
    if (r === undefined) {
      const author = hex(a.author)
      r = w.receipts.get(author)
      if (r === undefined)
        w.receipts.set(author, (r = { room: h.room, author, first: 1, times: [] }))
      w.byKey.set(a.author, r)
    }
    for (let seq = r.first + r.times.length; seq <= a.contig; seq++) r.times.push(t)
  }
}

export const loadWatch: Handler<'loadWatch'> = async (peer, { rooms }) => {
  const messenger = messengerOf(peer)
  const pw = watchOf(peer)
  const watching = pw.rooms
  let connected = new Set(peer.net.peers())
  pw.offPeers?.()
  pw.offPeers = peer.net.onPeers((current) => {
    for (const p of connected) if (!current.includes(p)) pw.disconnects++
    connected = new Set(current)
  })
  for (const room of rooms) {
    const h = history(peer, room)
    const w: RoomWatch = { receipts: new Map(), byKey: new WeakMap(), off: () => undefined }
    // What is held already is not timed.
    for (const a of await h.authors())
      w.receipts.set(hex(a.author), { room, author: hex(a.author), first: a.contig + 1, times: [] })
    watching.get(room)?.off()
    watching.set(room, w)
    let reading = false
    let dirty = false
    const read = async (): Promise<void> => {
      reading = true
      try {
        do {
          dirty = false
          await note(h, w)
        } while (dirty)
      } finally {
        reading = false
      }
    }
    w.off = messenger.onRoomChange((r) => {
      if (r !== room) return
      if (reading) dirty = true
      else void read()
    })
  }
  return {}
}

export const loadWait: Handler<'loadWait'> = async (peer, { expect, timeoutMs }) => {
  const t0 = now()
  const missing = async (): Promise<number> => {
    let n = 0
    for (const e of expect) {
      const a = (await history(peer, e.room).authors()).find((x) => hex(x.author) === e.author)
      n += Math.max(0, e.seq - (a?.contig ?? 0))
    }
    return n
  }
  let left = await missing()
  while (left > 0 && now() - t0 < timeoutMs) {
    await sleep(100)
    left = await missing()
  }
  return { ms: now() - t0, missing: left }
}

export const loadCheck: Handler<'loadCheck'> = async (peer, { expect }) => {
  const messenger = messengerOf(peer)
  const pw = watchOf(peer)
  const watching = pw.rooms
  const checks = []
  for (const { room, ids } of expect) {
    const w = watching.get(room)
    w?.off()
    if (w !== undefined) await note(history(peer, room), w)
    while (await messenger.loadOlder(room));
    const held = (await messenger.messages(room)).map((m) => m.id)
    checks.push({ room, ...checkHeld(ids, held) })
  }
  const receipts = [...watching.values()].flatMap((w) => [...w.receipts.values()])
  watching.clear()
  pw.offPeers?.()
  return { checks, receipts, disconnects: pw.disconnects }
}
