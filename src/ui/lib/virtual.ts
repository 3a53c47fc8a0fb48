/**
 * Virtual list arithmetic: which rows of a long list are visible, given each row's measured
 * height (or an estimate until it is measured). Heights live in a Float64Array with a Fenwick tree
 * over it, so offsets and lookups cost O(log n) — 100,000 rows stay cheap to scroll.
 */
export class RowHeights {
  #heights: Float64Array
  #tree: Float64Array
  readonly estimate: number

  constructor(count: number, estimate: number) {
    this.estimate = estimate
    this.#heights = new Float64Array(count).fill(estimate)
    this.#tree = new Float64Array(count + 1)
    for (let i = 0; i < count; i++) this.#add(i, estimate)
  }

  get count(): number {
    return this.#heights.length
  }

  #add(i: number, delta: number): void {
    for (let j = i + 1; j < this.#tree.length; j += j & -j) this.#tree[j]! += delta
  }

  /** Records row `i`'s real height; true if it changed. */
  set(i: number, height: number): boolean {
    const old = this.#heights[i]
    if (old === undefined || Math.abs(old - height) < 0.5) return false
    this.#heights[i] = height
    this.#add(i, height - old)
    return true
  }

  /** Top of row `i` (sum of the heights before it). */
  offset(i: number): number {
    let sum = 0
    for (let j = Math.min(i, this.count); j > 0; j -= j & -j) sum += this.#tree[j]!
    return sum
  }

  get total(): number {
    return this.offset(this.count)
  }

  /** The row at vertical position `y` (clamped). */
  indexAt(y: number): number {
    let pos = 0
    let rest = y
    let step = 1
    while (step * 2 < this.#tree.length) step *= 2
    for (; step > 0; step >>= 1) {
      const next = pos + step
      if (next < this.#tree.length && this.#tree[next]! <= rest) {
        pos = next
        rest -= this.#tree[next]!
      }
    }
    return Math.min(pos, Math.max(0, this.count - 1))
  }

  /**
   * A copy for a list that changed from `oldKeys` to `newKeys` (rows prepended, appended or
   * replaced), keeping the measured heights of rows still there.
   */
  remap(oldKeys: readonly string[], newKeys: readonly string[]): RowHeights {
    const known = new Map<string, number>()
    oldKeys.forEach((k, i) => known.set(k, this.#heights[i] ?? this.estimate))
    const next = new RowHeights(newKeys.length, this.estimate)
    newKeys.forEach((k, i) => {
      const h = known.get(k)
      if (h !== undefined) next.set(i, h)
    })
    return next
  }
}

/** Rows to render for a viewport: `[start, end)` with `overscan` rows either side. */
export function visibleRange(
  heights: RowHeights,
  scrollTop: number,
  viewport: number,
  overscan = 8,
): { start: number; end: number } {
  if (heights.count === 0) return { start: 0, end: 0 }
  const first = heights.indexAt(scrollTop)
  const last = heights.indexAt(scrollTop + viewport)
  return {
    start: Math.max(0, first - overscan),
    end: Math.min(heights.count, last + 1 + overscan),
  }
}
