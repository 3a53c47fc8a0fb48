/**
 * A room with 100,000 messages (1,000 a day, the newest day holding only 30; seeded into the
 * serving peer's data directory): the browser shows the newest at once, fills the first screen
 * from the days before, renders only the visible rows, loads older days on demand while scrolling
 * back, and scrolls without long frames. Prints what it measured.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import {
  screenshot,
  signUp,
  startChromium,
  startServe,
  type E2EBrowser,
  type ServePeer,
} from './harness.ts'
import { seedBigRoom } from './seed.ts'

const COUNT = 100_000

describe('a 100,000-message room in the browser', () => {
  let serve: ServePeer
  let chrome: E2EBrowser
  let page: Page

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-e2e-big-'))
    const seeded = await seedBigRoom(dir, COUNT, 1_000, 30)
    console.log(`seeded ${COUNT} messages in ${Math.round(seeded)} ms`)
    serve = await startServe(dir)
    chrome = await startChromium()
    page = await (await chrome.context()).newPage()
    // Every long main-thread task (> 50 ms) the page has, for the report below.
    await page.addInitScript(() => {
      const seen: number[] = []
      Object.assign(window, { parleyLongTasks: seen })
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) seen.push(e.duration)
      }).observe({ type: 'longtask', buffered: true })
    })
  }, 180_000)
  afterAll(async () => {
    await chrome?.stop()
    await serve?.stop()
  })

  const count = async (): Promise<number> =>
    Number(await page.getByTestId('messages').getAttribute('data-count'))
  /** Long tasks since the last call: count, longest and their sum (ms). */
  const longTasks = async (): Promise<string> => {
    const d = await page.evaluate(() => {
      const w = window as unknown as { parleyLongTasks: number[] }
      return w.parleyLongTasks.splice(0)
    })
    const max = Math.max(0, ...d)
    const sum = d.reduce((a, b) => a + b, 0)
    return `${d.length} long tasks, longest ${Math.round(max)} ms, ${Math.round(sum)} ms in all`
  }
  const newest = () => page.getByTestId('message-text').filter({ hasText: `message ${COUNT - 1}` })

  it('[BIG1] newest first, only visible rows rendered, older days on demand, smooth scrolling', async () => {
    await page.goto(serve.url)
    await signUp(page, 'reader', 'Rita Reader', 'long enough')
    await page.getByTestId('browse-rooms').click()
    await longTasks()
    const t0 = Date.now()
    await page.locator('[data-testid=listed-room][data-room=big] [data-testid=join-room]').click()
    await newest().waitFor({ timeout: 60_000 })
    console.log(`join → newest message painted: ${Date.now() - t0} ms`)
    // Catch-up hashing and signature checks run in the crypto worker, not on this thread.
    expect(page.workers().map((w) => w.url())).toContainEqual(
      expect.stringMatching(/crypto-worker/),
    )
    // The newest day holds only a few messages (seeded so, whatever the hour): the window goes on
    // to the day before until it holds a screenful and more, as catch-up brings that day in.
    await page.waitForFunction(
      () =>
        Number(document.querySelector('[data-testid=messages]')?.getAttribute('data-count')) >= 200,
      undefined,
      { timeout: 60_000 },
    )
    const initial = await count()
    expect(initial).toBeGreaterThanOrEqual(200)
    expect(initial).toBeLessThan(3_000)

    // Scroll back: each time the top is reached, the next older day is loaded and prepended. The
    // older days are still arriving (catch-up stores them newest first, a day in chunks), so a
    // reader who finds none yet scrolls up again: each poll scrolls to the top until five more
    // days' worth of messages are in the list.
    const t2 = Date.now()
    await page.waitForFunction(
      (target) => {
        const el = document.querySelector('[data-testid=messages]')
        if (Number(el?.getAttribute('data-count')) >= target) return true
        el?.scrollTo({ top: 600 })
        el?.scrollTo({ top: 0 })
        return false
      },
      initial + 5 * 1_000,
      { polling: 1_000, timeout: 180_000 },
    )
    const loaded = await count()
    console.log(`5 older days loaded by scrolling back in ${Date.now() - t2} ms`)
    expect(loaded).toBeGreaterThanOrEqual(initial + 5 * 1_000)
    const rendered = await page.getByTestId('message').count()
    console.log(`loaded ${loaded} messages, ${rendered} rows in the DOM`)
    expect(rendered).toBeLessThan(120)

    // The rest of the room is still streaming in (verified and stored on the main thread, in
    // chunks that cost long tasks): measure the list itself once that has settled.
    const settled = await page.evaluate(async () => {
      const t = performance.now()
      let last = performance.now()
      new PerformanceObserver(() => (last = performance.now())).observe({
        entryTypes: ['longtask'],
      })
      while (performance.now() - last < 2_000 && performance.now() - t < 90_000)
        await new Promise((r) => setTimeout(r, 200))
      return performance.now() - t
    })
    console.log(`background catch-up settled after ${Math.round(settled)} ms more`)
    // Reported, not asserted: the main thread during the whole catch-up (join → settled).
    console.log(`main thread during the catch-up: ${await longTasks()}`)

    // Frame times while scrolling through the loaded rows, 500 px a frame.
    const frames = await page.getByTestId('messages').evaluate(async (el) => {
      el.scrollTop = el.scrollHeight
      const gaps: number[] = []
      let last = performance.now()
      for (let i = 0; i < 90; i++) {
        el.scrollTop -= 500
        await new Promise((r) => requestAnimationFrame(r))
        const now = performance.now()
        gaps.push(now - last)
        last = now
      }
      return gaps.sort((a, b) => a - b)
    })
    const p50 = frames[Math.floor(frames.length * 0.5)]!
    const p95 = frames[Math.floor(frames.length * 0.95)]!
    // Reported, not asserted: speed is measured by benchmarks (docs/benchmarks.md), not tests.
    console.log(`scrolling frame time p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms`)
    expect(await page.getByTestId('message').count()).toBeLessThan(120)
    await screenshot(page, 'e2e-big-scrolled')

    const t1 = Date.now()
    await page.reload()
    await newest().waitFor({ timeout: 30_000 })
    console.log(`reload → newest message painted: ${Date.now() - t1} ms`)
    console.log(`main thread from reload to paint: ${await longTasks()}`)
    // Where the reload's time went: the app's performance marks (docs/web.md), ms after navigation.
    const marks = await page.evaluate(() =>
      performance
        .getEntriesByType('mark')
        .filter((m) => m.name.startsWith('parley:'))
        .map((m) => `${m.name.slice(7)} ${Math.round(m.startTime)}`),
    )
    console.log(`reload phases (ms after navigation): ${marks.join(', ')}`)
    await screenshot(page, 'e2e-big-reloaded')
    // Its own waits (join 60 s, scroll-back, settle up to 90 s, reload 30 s) exceed the e2e tier's
    // 120 s: at load average ~20 the settle alone took 89 s and the test timed out.
  }, 300_000)
})
