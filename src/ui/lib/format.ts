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

export const timeOf = (wall: number): string =>
  new Date(wall).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })

/** Local calendar day of a time, as a comparable key. */
export const dayKey = (wall: number): string => new Date(wall).toDateString()

/** "Today", "Yesterday", or the date. */
export function dayLabel(wall: number, now = Date.now()): string {
  const key = dayKey(wall)
  if (key === dayKey(now)) return 'Today'
  if (key === dayKey(now - 86_400_000)) return 'Yesterday'
  return new Date(wall).toLocaleDateString([], {
    weekday: 'long',
    year: 'numeric',
    month: 'long',
    day: 'numeric',
  })
}

/** "just now", "5 min ago", "3 h ago", or a date. */
export function ago(wall: number | undefined, now = Date.now()): string {
  if (wall === undefined) return 'never seen'
  const s = Math.max(0, Math.round((now - wall) / 1000))
  if (s < 60) return 'just now'
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`
  return new Date(wall).toLocaleDateString()
}
