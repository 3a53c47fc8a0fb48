import { describe, expect, it } from 'vitest'
import { RowHeights, visibleRange } from '../../src/ui/lib/virtual.ts'
import { ago, dayLabel, initials } from '../../src/ui/lib/format.ts'
import { EMOJI, searchEmoji } from '../../src/ui/lib/emoji.ts'
import { AWAY_AFTER_MS, awayAfterMs, watchIdle } from '../../src/ui/lib/idle.ts'

describe('ui helpers', () => {
  it('[VL1] virtual list: offsets, lookups and the visible range over 100,000 rows', () => {
    const n = 100_000
    const h = new RowHeights(n, 40)
    h.set(10, 100)
    expect(h.offset(11)).toBe(11 * 40 + 60)
    expect(h.total).toBe(n * 40 + 60)
    expect(h.indexAt(0)).toBe(0)
    expect(h.indexAt(10 * 40 + 99)).toBe(10)
    expect(h.indexAt(10 * 40 + 100)).toBe(11)
    expect(h.indexAt(1e12)).toBe(n - 1)
    const r = visibleRange(h, h.offset(50_000), 800, 5)
    expect(r).toEqual({ start: 49_995, end: 50_000 + 20 + 1 + 5 })
    for (let i = 0; i < 1000; i++) {
      const { start, end } = visibleRange(h, (i * 997) % h.total, 800)
      expect(end - start).toBeLessThan(60)
    }
  })

  it('[VL2] remap keeps measured heights of rows that stay (older rows prepended)', () => {
    const h = new RowHeights(3, 40)
    h.set(1, 90)
    const next = h.remap(['a', 'b', 'c'], ['x', 'y', 'a', 'b', 'c', 'd'])
    expect(next.count).toBe(6)
    expect(next.offset(4) - next.offset(3)).toBe(90)
    expect(next.total).toBe(5 * 40 + 90)
  })

  it('[FMT1] initials, day labels, last seen', () => {
    expect(initials('Alice Smith')).toBe('AS')
    expect(initials('bob')).toBe('BO')
    expect(initials('jean-luc picard')).toBe('JP')
    const now = Date.UTC(2026, 10, 25, 12)
    expect(dayLabel(now, now)).toBe('Today')
    expect(dayLabel(now - 86_400_000, now)).toBe('Yesterday')
    expect(ago(now - 30_000, now)).toBe('just now')
    expect(ago(now - 5 * 60_000, now)).toBe('5 min ago')
    expect(ago(undefined, now)).toBe('never seen')
  })

  it('[EMO1] about 200+ emoji, searchable by name', () => {
    expect(EMOJI.length).toBeGreaterThanOrEqual(200)
    expect(new Set(EMOJI.map((e) => e.char)).size).toBe(EMOJI.length)
    expect(searchEmoji('thumbs up').map((e) => e.char)).toEqual(['👍'])
    expect(searchEmoji('')).toHaveLength(EMOJI.length)
  })

  it('[IDLE1] away after idle, online again on activity', () => {
    const seen: string[] = []
    let fire: () => void = () => undefined
    const realSet = globalThis.setTimeout
    globalThis.setTimeout = ((fn: () => void) => ((fire = fn), 1)) as unknown as typeof setTimeout
    try {
      const w = watchIdle(1000, (s) => seen.push(s))
      fire()
      w.activity()
      w.activity()
      w.stop()
    } finally {
      globalThis.setTimeout = realSet
    }
    expect(seen).toEqual(['away', 'online'])
  })

  it('[IDLE2] the away threshold: 5 minutes, or ?away=<seconds> in the page address', () => {
    expect(AWAY_AFTER_MS).toBe(300_000)
    expect(awayAfterMs('')).toBe(300_000)
    expect(awayAfterMs('?away=8')).toBe(8_000)
    expect(awayAfterMs('?room=x&away=600')).toBe(600_000)
    for (const bad of ['?away=0', '?away=-5', '?away=1.5', '?away=abc', '?away=', '?away=99999'])
      expect(awayAfterMs(bad), bad).toBe(300_000)
  })
})
