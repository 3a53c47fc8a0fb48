/**
 * Presence in the people list, end to end: bob idles and alice sees him away; bob acts and she
 * sees him online again; bob closes his tab and she sees him offline with when he was last seen.
 * Bob's tab sets its idle threshold through the page address (`?away=<seconds>`, docs/web.md),
 * the same code path as the 5-minute default.
 */
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

const AWAY_AFTER_S = 8

describe('presence: away after idle, online on return, offline with last seen', () => {
  let serve: ServePeer
  let chrome: E2EBrowser
  let a: Page
  let b: Page

  beforeAll(async () => {
    serve = await startServe()
    chrome = await startChromium()
    a = await (await chrome.context()).newPage()
    b = await (await chrome.context()).newPage()
  })
  afterAll(async () => {
    await chrome?.stop()
    await serve?.stop()
  })

  const bobSeenByAlice = () => a.locator('[data-testid=person][data-user=bob]')
  const bobIs = (status: string) => bobSeenByAlice().and(a.locator(`[data-status=${status}]`))

  it('[PRES1] idle → away, activity → online, tab closed → offline with last seen', async () => {
    await a.goto(serve.url)
    await signUp(a, 'alice', 'Alice Smith', 'correct horse')
    await b.goto(`${serve.url}?away=${AWAY_AFTER_S}`)
    await signUp(b, 'bob', 'Bob Jones', 'battery staple')
    await bobIs('online').or(bobIs('away')).waitFor({ timeout: 20_000 })

    // Bob does nothing: after the threshold his browser announces 'away'.
    await bobIs('away').waitFor({ timeout: 30_000 })
    expect((await bobSeenByAlice().locator('.seen').textContent())?.trim()).toBe('away')
    await screenshot(a, 'e2e-presence-bob-away')

    // Bob presses a key: online again (alice must see it before he idles out again).
    await b.getByTestId('composer').press('a')
    await bobIs('online').waitFor({ timeout: AWAY_AFTER_S * 1000 })
    await screenshot(a, 'e2e-presence-bob-back')

    // Bob closes his tab: no goodbye is sent, so alice's peer notices the silence (≤ 13 s).
    await b.close()
    await bobIs('offline').waitFor({ timeout: 30_000 })
    expect((await bobSeenByAlice().locator('.seen').textContent())?.trim()).toBe('just now')
    await screenshot(a, 'e2e-presence-bob-offline')
  })
})
