/**
 * PeriodDoc convergence (random writes and deliveries across authors, yjs `flushRandomMessage`
 * style) and the measurements of a 10,000-message day.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as prng from 'lib0/prng'
import { equalBytes } from '../../src/crdt/entry.ts'
import { PeriodDoc, type DisplayMessage } from '../../src/crdt/period-doc.ts'
import { DAY, ROOM, at, author, type Author, type UpdateContext } from './period-fixtures.ts'

const alice = author('alice')
const bob = author('bob')
const carol = author('carol')

const docs: PeriodDoc[] = []
/** A PeriodDoc destroyed after the test. */
function track(d: PeriodDoc): PeriodDoc {
  docs.push(d)
  return d
}
const doc = (period = DAY): PeriodDoc => track(new PeriodDoc(ROOM, period))
afterEach(() => {
  for (const d of docs.splice(0)) d.destroy()
})

interface Logged {
  ctx: UpdateContext
  update: Uint8Array
}

/**
 * Authors write on their own replicas while updates reach the others in random interleavings (each
 * author's in order), with random delays: the yjs `flushRandomMessage` pattern.
 */
function simulate(
  seed: number,
  authors: Author[],
  steps: number,
  afterStep?: (replicas: PeriodDoc[]) => void,
): { replicas: PeriodDoc[]; logs: Logged[][] } {
  const gen = prng.create(seed)
  const replicas = authors.map(() => doc())
  const logs: Logged[][] = authors.map(() => [])
  /** delivered[r][a]: how many of author a's updates replica r has. */
  const delivered = authors.map((_, r) => authors.map((_, a) => (a === r ? Infinity : 0)))
  let clock = 0
  const deliverSome = (): void => {
    const r = prng.uint32(gen, 0, authors.length - 1)
    const a = prng.uint32(gen, 0, authors.length - 1)
    const row = delivered[r]!
    const next = logs[a]![row[a]!]
    if (next === undefined) return
    expect(replicas[r]!.apply(next.ctx, next.update), `seed ${seed}`).toBe('applied')
    row[a]!++
  }
  for (let step = 0; step < steps; step++) {
    const a = prng.uint32(gen, 0, authors.length - 1)
    const me = authors[a]!
    const replica = replicas[a]!
    const seq = logs[a]!.length + 1
    const ctx = me.ctx(seq)
    const hlc = at(++clock * 10, prng.uint32(gen, 0, 2))
    const mine = replica.messages().filter((m) => m.author === me.id)
    const roll = prng.uint32(gen, 0, 99)
    const target = mine.length > 0 ? prng.oneOf(gen, mine).id : undefined
    const { update } =
      target === undefined || roll < 60
        ? replica.post(ctx, `${me.id.slice(0, 4)} says ${prng.word(gen, 2, 40)}`, hlc)
        : roll < 85
          ? replica.edit(ctx, target, prng.word(gen, 1, 20), hlc)
          : replica.remove(ctx, target, hlc)
    logs[a]!.push({ ctx, update })
    for (let n = prng.uint32(gen, 0, 3); n > 0; n--) deliverSome()
    afterStep?.(replicas)
  }
  // heal: deliver everything left, still in random interleavings
  for (let left = true; left;) {
    deliverSome()
    left = delivered.some((row, r) => row.some((n, a) => a !== r && n < logs[a]!.length))
  }
  return { replicas, logs }
}

/** A fresh document fed `logs` in a random interleaving that keeps each author's order. */
function replay(seed: number, logs: Logged[][]): PeriodDoc {
  const gen = prng.create(seed)
  const d = doc()
  const next = logs.map(() => 0)
  for (let left = logs.reduce((n, l) => n + l.length, 0); left > 0; left--) {
    const ready = logs.flatMap((l, a) => (next[a]! < l.length ? [a] : []))
    const a = prng.oneOf(gen, ready)
    const e = logs[a]![next[a]!++]!
    expect(d.apply(e.ctx, e.update)).toBe('applied')
  }
  return d
}

describe('PeriodDoc: convergence', () => {
  it('[PD9] the same updates in different orders give byte-identical snapshots and messages', () => {
    for (const seed of [1, 2, 3]) {
      const { logs } = simulate(seed, [alice, bob], 60)
      const x = replay(seed * 100, logs)
      const y = replay(seed * 100 + 1, logs)
      expect(equalBytes(x.encodeSnapshot(), y.encodeSnapshot()), `seed ${seed}`).toBe(true)
      expect(x.messages(), `seed ${seed}`).toEqual(y.messages())
      expect(x.stateVector()).toEqual(y.stateVector())
    }
  })

  it('[PD10] three authors writing concurrently converge, with observers and snapshots', () => {
    for (const seed of [10, 11, 12, 13]) {
      const { replicas, logs } = simulate(seed, [alice, bob, carol], 150)
      const snap = replicas[0]!.encodeSnapshot()
      const all = [...replicas, replay(seed, logs), track(PeriodDoc.fromSnapshot(ROOM, DAY, snap))]
      for (const [i, r] of all.entries()) {
        expect(equalBytes(r.encodeSnapshot(), snap), `seed ${seed}, replica ${i}`).toBe(true)
        expect(r.messages(), `seed ${seed}, replica ${i}`).toEqual(replicas[0]!.messages())
      }
      const msgs = replicas[0]!.messages()
      expect(msgs.length).toBeGreaterThan(50)
      expect(msgs.some((m) => m.edited) && msgs.some((m) => m.deleted)).toBe(true)
    }
  })
})

describe('PeriodDoc: reads kept up to date', () => {
  it('[PD17] a read after each write or apply equals a rebuild from the snapshot, and unchanged messages keep their objects', () => {
    for (const seed of [20, 21, 22]) {
      let reads = 0
      const last = new Map<PeriodDoc, Map<string, DisplayMessage>>()
      const { replicas } = simulate(seed, [alice, bob, carol], 150, (replicas) => {
        for (const r of replicas) {
          const shown = r.messages()
          const rebuilt = track(PeriodDoc.fromSnapshot(ROOM, DAY, r.encodeSnapshot()))
          expect(shown, `seed ${seed}`).toEqual(rebuilt.messages())
          expect(r.edits(), `seed ${seed}`).toEqual(rebuilt.edits())
          const before = last.get(r) ?? new Map<string, DisplayMessage>()
          for (const m of shown) {
            const was = before.get(m.id)
            if (was !== undefined && JSON.stringify(was) === JSON.stringify(m)) expect(m).toBe(was)
          }
          last.set(r, new Map(shown.map((m) => [m.id, m])))
          reads++
          rebuilt.destroy()
        }
      })
      expect(reads).toBe(450)
      expect(replicas[0]!.messages().length).toBeGreaterThan(50)
    }
  })

  it('[PD18] a transaction touching many messages at once is read right too (rebuilt, not patched)', () => {
    const d = doc()
    const other = doc()
    const ctxs = Array.from({ length: 100 }, (_, i) => alice.ctx(i + 1))
    const updates = ctxs.map((ctx, i) => other.post(ctx, `m${i}`, at(1000 - i)).update)
    expect(d.messages()).toEqual([])
    d.batch(() => ctxs.forEach((ctx, i) => d.apply(ctx, updates[i]!)))
    expect(d.messages().map((m) => m.text)).toEqual(other.messages().map((m) => m.text))
    expect(d.messages()[0]!.text).toBe('m99')
  })
})

describe('PeriodDoc: a 10,000-message day', () => {
  it('[PD16] measures post, apply, snapshot and load (numbers printed, not asserted)', () => {
    const writers = Array.from({ length: 10 }, (_, i) => author(`writer ${i}`))
    const heap = (): number => {
      const gc = (globalThis as { gc?: () => void }).gc
      gc?.()
      return process.memoryUsage().heapUsed
    }
    const text = (i: number): string => `message ${i} `.padEnd(100, 'lorem ipsum dolor sit amet ')
    const N = 10_000
    const h0 = heap()
    const a = doc()
    const log: Logged[] = []
    let t = performance.now()
    for (let i = 0; i < N; i++) {
      const w = writers[i % writers.length]!
      const ctx = w.ctx(Math.floor(i / writers.length) + 1)
      log.push({ ctx, update: a.post(ctx, text(i), at(i * 5)).update })
    }
    const postMs = performance.now() - t
    const h1 = heap()
    const b = doc()
    t = performance.now()
    for (const e of log) b.apply(e.ctx, e.update)
    const applyMs = performance.now() - t
    t = performance.now()
    const snap = b.encodeSnapshot()
    const encodeMs = performance.now() - t
    const h2 = heap()
    t = performance.now()
    const c = track(PeriodDoc.fromSnapshot(ROOM, DAY, snap))
    const loadMs = performance.now() - t
    const h3 = heap()
    t = performance.now()
    const shown = c.messages()
    const readMs = performance.now() - t
    expect(shown).toHaveLength(N)
    expect(equalBytes(snap, a.encodeSnapshot())).toBe(true)
    const updateBytes = log.reduce((n, e) => n + e.update.length, 0)
    console.log(
      [
        `post: ${((postMs * 1000) / N).toFixed(1)} µs/message (${postMs.toFixed(0)} ms total)`,
        `apply (validate + Yjs): ${((applyMs * 1000) / N).toFixed(1)} µs/update (${applyMs.toFixed(0)} ms total)`,
        `updates: ${(updateBytes / N).toFixed(0)} B each`,
        `snapshot: ${(snap.length / 1e6).toFixed(2)} MB, encode ${encodeMs.toFixed(1)} ms`,
        `fromSnapshot: ${loadMs.toFixed(1)} ms; first messages(): ${readMs.toFixed(1)} ms`,
        `heap: writer document + its 10k updates ${((h1 - h0) / 2 ** 20).toFixed(1)} MiB, a loaded document ${((h3 - h2) / 2 ** 20).toFixed(1)} MiB${(globalThis as { gc?: unknown }).gc ? '' : ' (no --expose-gc: rough)'}`,
      ].join('\n'),
    )
  })
})
