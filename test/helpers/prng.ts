/**
 * Seeded randomness for tests (mulberry32): every random run replays from its seed. Tests print the
 * seed in their names and assertion messages; `PARLEY_SEED=<n>` replays one seed.
 */

export interface Prng {
  readonly seed: number
  /** A float in [0, 1). */
  next(): number
  /** An integer in [0, n). */
  int(n: number): number
  /** True with probability `p`. */
  bool(p?: number): boolean
  pick<T>(items: readonly T[]): T
  bytes(n: number): Uint8Array
}

export function seededPrng(seed: number): Prng {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  const int = (n: number): number => Math.floor(next() * n)
  return {
    seed,
    next,
    int,
    bool: (p = 0.5) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError('pick from an empty list')
      return items[int(items.length)] as T
    },
    bytes: (n) => Uint8Array.from({ length: n }, () => int(256)),
  }
}

/**
 * The seeds a randomized test runs: `PARLEY_SEED` (one seed, to replay a failure) or `count`
 * seeds derived from `base`.
 */
export function testSeeds(base: number, count: number): number[] {
  const env = process.env['PARLEY_SEED']
  if (env !== undefined && env !== '') {
    const seed = Number(env)
    if (!Number.isSafeInteger(seed)) throw new RangeError(`PARLEY_SEED is not an integer: ${env}`)
    return [seed]
  }
  return Array.from({ length: count }, (_, i) => (base + i * 7919) >>> 0)
}

/**
 * A copy of `bytes` with a few seeded mutations: flipped bits, changed, inserted or removed bytes,
 * truncation. Never returns the input unchanged.
 */
export function mutate(rand: Prng, bytes: Uint8Array): Uint8Array {
  let out = Array.from(bytes)
  const n = 1 + rand.int(4)
  for (let i = 0; i < n; i++) {
    const at = rand.int(Math.max(1, out.length))
    switch (rand.int(5)) {
      case 0:
        out[at] = (out[at] ?? 0) ^ (1 << rand.int(8))
        break
      case 1:
        out[at] = rand.int(256)
        break
      case 2:
        out.splice(at, 0, rand.int(256))
        break
      case 3:
        out.splice(at, 1 + rand.int(4))
        break
      default:
        out = out.slice(0, at)
    }
  }
  const result = Uint8Array.from(out)
  if (result.length === bytes.length && result.every((x, i) => x === bytes[i])) {
    return Uint8Array.from([...bytes, rand.int(256)])
  }
  return result
}
