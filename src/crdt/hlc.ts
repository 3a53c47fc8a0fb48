/**
 * Hybrid logical clock (Kulkarni et al., 2014): wall-clock milliseconds plus a counter, so that every
 * timestamp a device issues is strictly greater than every one it issued or observed before, even when
 * the wall clock stalls or steps backwards, while staying close to real time.
 */

/** A timestamp: `wall` is ms since the Unix epoch, `count` orders events within one `wall`. */
export interface Hlc {
  wall: number
  count: number
}

/** Largest `wall` an entry may carry: 2^48 - 1 ms, in the year 10889. */
export const MAX_WALL = 2 ** 48 - 1
/** Largest `count`. Past it the clock advances `wall` by 1 ms instead. */
export const MAX_COUNT = 0xffff_ffff
/** Default bound on how far in the future an observed timestamp may be: 24 hours. */
export const MAX_FUTURE_MS = 24 * 60 * 60 * 1000

export interface ClockInit {
  /**
   * Remote timestamps whose `wall` is more than this ahead of our wall clock are refused, so that one
   * peer with a bad (or lying) clock cannot drag everyone's clock into the future.
   * @default 86_400_000 (24 h)
   */
  maxFutureMs?: number
  /** Called with each refused remote timestamp (for logging). */
  onRefuse?: (remote: Hlc, localWall: number) => void
}

export interface HybridClock {
  /** A new timestamp, strictly greater than every one returned or observed before. */
  now(): Hlc
  /**
   * Takes a remote timestamp into account: the next {@link HybridClock.now} is greater than it.
   * Returns `false` (and changes nothing) if it is malformed or too far in the future.
   */
  observe(remote: Hlc): boolean
}

/** Short name of {@link HybridClock}. */
export type Clock = HybridClock

/** Orders timestamps by `wall`, then `count`: negative, zero or positive like `Array.sort` wants. */
export function compareHlc(a: Hlc, b: Hlc): number {
  return a.wall !== b.wall ? a.wall - b.wall : a.count - b.count
}

/** Whether `v` is an {@link Hlc} within bounds (integers, `0 ≤ wall ≤ MAX_WALL`, `0 ≤ count ≤ MAX_COUNT`). */
export function isHlc(v: Hlc): boolean {
  return (
    Number.isInteger(v.wall) &&
    v.wall >= 0 &&
    v.wall <= MAX_WALL &&
    Number.isInteger(v.count) &&
    v.count >= 0 &&
    v.count <= MAX_COUNT
  )
}

/** The smallest timestamp greater than `t`. */
export function nextHlc(t: Hlc): Hlc {
  return t.count < MAX_COUNT ? { wall: t.wall, count: t.count + 1 } : { wall: t.wall + 1, count: 0 }
}

/**
 * A clock reading `now` (default `Date.now`). Holds its state in the returned object only; persist the last
 * timestamp written and {@link HybridClock.observe} it after a restart.
 */
export function createClock(now: () => number = Date.now, init: ClockInit = {}): HybridClock {
  const maxFuture = init.maxFutureMs ?? MAX_FUTURE_MS
  let last: Hlc = { wall: 0, count: 0 }

  function physical(): number {
    const t = Math.floor(now())
    // a broken wall clock (NaN, negative, absurd) must not break monotonicity: fall back on `last`
    return Number.isFinite(t) && t >= 0 && t <= MAX_WALL ? t : 0
  }

  return {
    now() {
      const pt = physical()
      last = pt > last.wall ? { wall: pt, count: 0 } : nextHlc(last)
      return { ...last }
    },
    observe(remote) {
      const pt = physical()
      if (!isHlc(remote) || remote.wall > pt + maxFuture) {
        init.onRefuse?.(remote, pt)
        return false
      }
      if (compareHlc(remote, last) > 0) last = { wall: remote.wall, count: remote.count }
      return true
    },
  }
}
