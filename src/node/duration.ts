/** Durations on the command line. */

/** Parses `7d`, `12h`, `30m`, `90s` (or plain milliseconds) into milliseconds. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(d|h|m|s|ms)?$/.exec(s.trim())
  if (m === null) return undefined
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 }[m[2] ?? 'ms'] ?? 1
  const n = Number(m[1]) * unit
  return Number.isFinite(n) && n >= 1000 && n <= 366 * 86_400_000 ? Math.round(n) : undefined
}
