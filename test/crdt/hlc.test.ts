import { describe, expect, it } from 'vitest'
import * as prng from 'lib0/prng'
import {
  MAX_COUNT,
  MAX_FUTURE_MS,
  compareHlc,
  createClock,
  isHlc,
  nextHlc,
  type Hlc,
} from '../../src/crdt/hlc.ts'

const T0 = 1_764_000_000_000 // Nov 2025

/** A wall clock driven by the test: steps forward, stalls, jumps back. */
function fakeWall(start = T0) {
  let t = start
  return { now: () => t, set: (v: number) => (t = v), add: (d: number) => (t += d) }
}

describe('hlc', () => {
  it('[HLC1] compareHlc orders by wall, then count', () => {
    const list: Hlc[] = [
      { wall: 2, count: 0 },
      { wall: 1, count: 5 },
      { wall: 1, count: 0 },
      { wall: 2, count: 1 },
    ]
    expect(list.sort(compareHlc)).toEqual([
      { wall: 1, count: 0 },
      { wall: 1, count: 5 },
      { wall: 2, count: 0 },
      { wall: 2, count: 1 },
    ])
    expect(compareHlc({ wall: 3, count: 3 }, { wall: 3, count: 3 })).toBe(0)
  })

  it('[HLC2] follows the wall clock when it moves forward', () => {
    const wall = fakeWall()
    const clock = createClock(wall.now)
    expect(clock.now()).toEqual({ wall: T0, count: 0 })
    expect(clock.now()).toEqual({ wall: T0, count: 1 })
    wall.add(5)
    expect(clock.now()).toEqual({ wall: T0 + 5, count: 0 })
  })

  it('[HLC3] property: strictly increasing over random wall steps, stalls and backward jumps', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const gen = prng.create(seed)
      const wall = fakeWall()
      const clock = createClock(wall.now)
      let last = clock.now()
      for (let i = 0; i < 5_000; i++) {
        const step = prng.int32(gen, -3_600_000, 1_000) // backwards by up to an hour
        if (prng.bool(gen)) wall.add(prng.bool(gen) ? 0 : step)
        if (prng.int32(gen, 0, 9) === 0) {
          const remote = { wall: wall.now() + prng.int32(gen, -10_000, 10_000), count: 7 }
          clock.observe(remote)
          const t = clock.now()
          expect(compareHlc(t, remote), `seed ${seed}`).toBeGreaterThan(0)
          expect(compareHlc(t, last), `seed ${seed}`).toBeGreaterThan(0)
          last = t
        }
        const t = clock.now()
        expect(compareHlc(t, last), `seed ${seed} step ${i}`).toBeGreaterThan(0)
        expect(isHlc(t)).toBe(true)
        last = t
      }
    }
  })

  it('[HLC4] stays within the bounded drift of the largest wall seen', () => {
    const gen = prng.create(42)
    const wall = fakeWall()
    const clock = createClock(wall.now)
    let maxSeen = 0
    for (let i = 0; i < 2_000; i++) {
      wall.add(prng.int32(gen, -50, 100))
      maxSeen = Math.max(maxSeen, wall.now())
      if (prng.int32(gen, 0, 4) === 0) {
        const remote = { wall: wall.now() + prng.int32(gen, 0, 60_000), count: 0 }
        if (clock.observe(remote)) maxSeen = Math.max(maxSeen, remote.wall)
      }
      expect(clock.now().wall).toBeLessThanOrEqual(maxSeen)
    }
  })

  it('[HLC5] refuses remote walls beyond the future bound, and reports them', () => {
    const wall = fakeWall()
    const refused: Hlc[] = []
    const clock = createClock(wall.now, { onRefuse: (r) => refused.push(r) })
    const year3000 = { wall: 32_503_680_000_000, count: 0 }
    expect(clock.observe(year3000)).toBe(false)
    expect(clock.observe({ wall: T0 + MAX_FUTURE_MS + 1, count: 0 })).toBe(false)
    expect(refused).toEqual([year3000, { wall: T0 + MAX_FUTURE_MS + 1, count: 0 }])
    expect(clock.now()).toEqual({ wall: T0, count: 0 })
    // just inside the bound is accepted
    expect(clock.observe({ wall: T0 + MAX_FUTURE_MS, count: 3 })).toBe(true)
    expect(clock.now()).toEqual({ wall: T0 + MAX_FUTURE_MS, count: 4 })
  })

  it('[HLC6] refuses malformed remote timestamps', () => {
    const clock = createClock(() => T0, { maxFutureMs: 1000 })
    for (const bad of [
      { wall: Number.NaN, count: 0 },
      { wall: -1, count: 0 },
      { wall: 1.5, count: 0 },
      { wall: T0, count: -1 },
      { wall: T0, count: MAX_COUNT + 1 },
      { wall: T0, count: Number.POSITIVE_INFINITY },
    ]) {
      expect(clock.observe(bad)).toBe(false)
    }
    expect(clock.now()).toEqual({ wall: T0, count: 0 })
  })

  it('[HLC7] a broken wall clock (NaN, negative) does not break monotonicity', () => {
    const wall = fakeWall()
    const clock = createClock(wall.now)
    const a = clock.now()
    wall.set(Number.NaN)
    const b = clock.now()
    wall.set(-5)
    const c = clock.now()
    expect(compareHlc(b, a)).toBeGreaterThan(0)
    expect(compareHlc(c, b)).toBeGreaterThan(0)
  })

  it('[HLC8] the counter rolls over into the wall instead of leaving bounds', () => {
    expect(nextHlc({ wall: 10, count: MAX_COUNT })).toEqual({ wall: 11, count: 0 })
    const clock = createClock(() => T0)
    expect(clock.observe({ wall: T0, count: MAX_COUNT })).toBe(true)
    expect(clock.now()).toEqual({ wall: T0 + 1, count: 0 })
  })
})
