/** Display helpers: initials, times, day separators, "last seen". Pure. */

/** Up to two initials of a name, for avatars. */
export function initials(name: string): string {
  const words = name
    .trim()
    .split(/[\s._-]+/)
    .filter(Boolean)
  const first = words[0]?.[0] ?? '?'
  const second = words.length > 1 ? (words.at(-1)?.[0] ?? '') : (words[0]?.[1] ?? '')
  return (first + second).toUpperCase()
}

/** A stable hue (0–359) for an author's avatar. */
export function hueOf(author: string): number {
  let h = 0
  for (let i = 0; i < author.length; i++) h = (h * 31 + author.charCodeAt(i)) % 360
  return h
}

// One formatter each, made on first use: `toLocaleTimeString(locales, options)` builds a new
// Intl.DateTimeFormat on every call (~0.1–0.3 ms each), which made formatting the times of a
// screenful of rows a large part of the first paint.
let timeFormat: Intl.DateTimeFormat | undefined
let dayFormat: Intl.DateTimeFormat | undefined
let dateFormat: Intl.DateTimeFormat | undefined

/** "09:41" (the user's locale). */
export const timeOf = (wall: number): string =>
  (timeFormat ??= new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit' })).format(wall)

/**
 * Makes the formatters now. The first Intl.DateTimeFormat of a page loads the locale's data
 * (~30–80 ms measured in Chromium): done while startup waits on IndexedDB, not when rows render.
 */
export function warmFormats(): void {
  timeOf(0)
  dayLabel(0, 0)
}

/** Local calendar day of a time, as a comparable key (y-m-d). */
export function dayKey(wall: number): string {
  const d = new Date(wall)
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`
}

/** "Today", "Yesterday", or the date. */
export function dayLabel(wall: number, now = Date.now()): string {
  const key = dayKey(wall)
  if (key === dayKey(now)) return 'Today'
  if (key === dayKey(now - 86_400_000)) return 'Yesterday'
  dayFormat ??= new Intl.DateTimeFormat([], {
    weekday: 'long',
    year: 'numeric',
    month: 'long',
    day: 'numeric',
  })
  return dayFormat.format(wall)
}

/** "just now", "5 min ago", "3 h ago", or a date. */
export function ago(wall: number | undefined, now = Date.now()): string {
  if (wall === undefined) return 'never seen'
  const s = Math.max(0, Math.round((now - wall) / 1000))
  if (s < 60) return 'just now'
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`
  return (dateFormat ??= new Intl.DateTimeFormat()).format(wall)
}

/** "512 B", "3.4 KB", "50.0 MB", "1.20 GB" (powers of 1000, as file managers show). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let v = n / 1000
  let u = 0
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000
    u++
  }
  return `${v.toFixed(v < 10 && u >= 2 ? 2 : 1)} ${units[u]}`
}

/** "12 s left", "3 min left", "2 h 5 min left"; '' while unknown. */
export function timeLeft(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return ''
  const s = Math.ceil(ms / 1000)
  if (s < 60) return `${s} s left`
  if (s < 3600) return `${Math.ceil(s / 60)} min left`
  return `${Math.floor(s / 3600)} h ${Math.ceil((s % 3600) / 60)} min left`
}
