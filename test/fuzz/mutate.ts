/**
 * The fuzzer's input generator: a seeded, reproducible mutation engine in the style of libFuzzer's
 * (bit flips, byte arithmetic, insertions, deletions, truncation, length fields pushed to their
 * extremes, splices of two valid seeds). Input `i` of a run with seed `s` depends only on `(s, i)`
 * and the surface's seeds, so any one input replays without the ones before it.
 */
import { seededPrng, type Prng } from '../helpers/prng.ts'

/** A PRNG for input `index` of the run seeded `seed` (independent of every other input). */
export function inputPrng(seed: number, index: number): Prng {
  // splitmix-style mixing of (seed, index) into a 32-bit mulberry32 seed
  let h = (seed ^ Math.imul(index, 0x9e3779b1)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0
  return seededPrng((h ^ (h >>> 16)) >>> 0)
}

/** Byte values that sit on boundaries: varuint continuation, sign bits, ASCII edges. */
const INTERESTING_BYTES = [
  0, 1, 2, 0x0f, 0x10, 0x1f, 0x20, 0x3f, 0x40, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff,
]

/** lib0/LEB128 varuints at the edges: 0, one-byte max, 2^32, 2^53, and runs that never end. */
const VARINTS: readonly number[][] = [
  [0],
  [0x7f],
  [0x80, 0x01],
  [0x80, 0x00], // non-canonical
  [0xff, 0xff, 0xff, 0xff, 0x0f], // 2^32 - 1
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f], // 2^53 - 1
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // past 2^53
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
  [0xfd, 0xff, 0xff, 0xff, 0xff, 0x7f], // yjs#687's struct count
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
]

/** Big-endian fixed-width fields at the edges (file frames and manifests use u16/u32/u64). */
const FIXED: readonly number[][] = [
  [0xff, 0xff],
  [0x00, 0x00],
  [0x7f, 0xff, 0xff, 0xff],
  [0x80, 0x00, 0x00, 0x00],
  [0xff, 0xff, 0xff, 0xff],
  [0x00, 0x00, 0x00, 0x00],
  [0x00, 0x00, 0x00, 0x01],
  [0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // 2^53
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // 2^53 - 1
]

/** Names of the mutation operators, in the order of {@link mutateOnce}'s switch. */
export const OPERATORS = [
  'flip-bit',
  'set-byte',
  'interesting-byte',
  'arith',
  'insert',
  'delete',
  'truncate',
  'varint-extreme',
  'fixed-extreme',
  'duplicate-range',
  'splice-seed',
  'insert-seed-range',
  'append',
  'swap',
] as const

/** One mutation of `a` (changed in place where possible; the result is returned). */
function mutateOnce(rand: Prng, a: number[], seeds: readonly Uint8Array[]): number[] {
  const at = rand.int(a.length + 1)
  switch (rand.int(OPERATORS.length)) {
    case 0:
      if (at < a.length) a[at] = a[at]! ^ (1 << rand.int(8))
      return a
    case 1:
      if (at < a.length) a[at] = rand.int(256)
      return a
    case 2:
      if (at < a.length) a[at] = rand.pick(INTERESTING_BYTES)
      return a
    case 3:
      if (at < a.length) a[at] = (a[at]! + (rand.bool() ? 1 : -1) * (1 + rand.int(16)) + 256) & 0xff
      return a
    case 4:
      a.splice(at, 0, ...Array.from({ length: 1 + rand.int(8) }, () => rand.int(256)))
      return a
    case 5:
      a.splice(at, 1 + rand.int(rand.bool(0.8) ? 4 : 64))
      return a
    case 6:
      return a.slice(0, at)
    case 7: {
      const v = rand.pick(VARINTS)
      a.splice(at, rand.bool() ? Math.min(v.length, a.length - at) : 0, ...v)
      return a
    }
    case 8: {
      const v = rand.pick(FIXED)
      a.splice(at, Math.min(v.length, a.length - at), ...v)
      return a
    }
    case 9: {
      const from = rand.int(a.length + 1)
      a.splice(at, 0, ...a.slice(from, from + 1 + rand.int(32)))
      return a
    }
    case 10: {
      const other = rand.pick(seeds)
      return [...a.slice(0, at), ...other.subarray(rand.int(other.length + 1))]
    }
    case 11: {
      const other = rand.pick(seeds)
      const from = rand.int(other.length + 1)
      a.splice(at, 0, ...other.subarray(from, from + 1 + rand.int(64)))
      return a
    }
    case 12:
      a.push(...Array.from({ length: 1 + rand.int(16) }, () => rand.int(256)))
      return a
    default: {
      const b = rand.int(a.length + 1)
      if (at < a.length && b < a.length) [a[at], a[b]] = [a[b]!, a[at]!]
      return a
    }
  }
}

/** A copy of `input` with 1–4 stacked mutations (splices draw from `seeds`). */
export function mutate(rand: Prng, input: Uint8Array, seeds: readonly Uint8Array[]): Uint8Array {
  let a = Array.from(input)
  for (let n = 1 + rand.int(rand.bool(0.7) ? 2 : 4); n > 0; n--) a = mutateOnce(rand, a, seeds)
  return Uint8Array.from(a)
}

/** Random bytes: mostly short, sometimes up to 64 KiB (a size-bound check must not be the only gate). */
export function noise(rand: Prng): Uint8Array {
  const len = rand.bool(0.95) ? rand.int(96) : rand.int(64 * 1024)
  const out = new Uint8Array(len)
  for (let i = 0; i < len; i++) out[i] = rand.int(256)
  return out
}
