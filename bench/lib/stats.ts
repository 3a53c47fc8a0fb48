/** Percentiles and small number helpers for bench results. */

export interface Distribution {
  n: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

/** Nearest-rank percentile of ascending `sorted` (`q` in 0..1). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.ceil(q * sorted.length) - 1
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!
}

export function distribution(samples: readonly number[]): Distribution {
  const s = [...samples].sort((a, b) => a - b)
  const sum = s.reduce((a, b) => a + b, 0)
  return {
    n: s.length,
    p50: quantile(s, 0.5),
    p90: quantile(s, 0.9),
    p99: quantile(s, 0.99),
    max: s.length === 0 ? NaN : s[s.length - 1]!,
    mean: s.length === 0 ? NaN : sum / s.length,
  }
}

/** Rounds for JSON and tables: 3 significant decimals below 10, fewer above. */
export function round(x: number): number {
  if (!Number.isFinite(x)) return x
  const digits = Math.abs(x) < 10 ? 3 : Math.abs(x) < 1000 ? 1 : 0
  const f = 10 ** digits
  return Math.round(x * f) / f
}

export const mib = (bytes: number): number => round(bytes / (1024 * 1024))
