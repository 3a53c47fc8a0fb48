/**
 * A second device of one user in real headless Chromium against a real `parley serve` (issue #4
 * point 6): two browser profiles are two devices of alice. The first shows a one-time link code
 * (text and QR, with its expiry); the second enters it under "I have a link code", chooses its own
 * password, shows the room's history and posts as alice; the first sees that post under alice's
 * name, and the people list shows alice once. Screenshots: test-results/e2e-device-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrowserContext, Page } from 'playwright-core'
import {
  screenshot,
  seeMessage,
  send,
  signUp,
  startChromium,
  startServe,
  type E2EBrowser,
  type ServePeer,
} from './harness.ts'

describe('a second device of one user (Chromium + parley serve)', () => {
  let serve: ServePeer
  let chrome: E2EBrowser
  let ctxA: BrowserContext
  let ctxB: BrowserContext
  let laptop: Page
  let phone: Page

  beforeAll(async () => {
    serve = await startServe()
    chrome = await startChromium()
    ctxA = await chrome.context()
    ctxB = await chrome.context()
    laptop = await ctxA.newPage()
    phone = await ctxB.newPage()
  })
  afterAll(async () => {
    await chrome?.stop()
    await serve?.stop()
  })

  it('[E2E-DEV1] link a second browser with a one-time code: it shows the history and posts as the same user', async () => {
    await laptop.goto(serve.url)
    await signUp(laptop, 'alice', 'Alice Smith', 'correct horse')
    await send(laptop, 'written on the laptop')
    await seeMessage(laptop, 'written on the laptop')

    await laptop.getByTestId('link-device').click()
    const dialog = laptop.getByTestId('link-device-dialog')
    const field = dialog.getByTestId('device-link-code')
    await field.waitFor({ timeout: 20_000 })
    const code = await field.inputValue()
    expect(code).toMatch(/^[A-Za-z0-9_-]{100,}$/)
    await dialog.getByTestId('invite-qr').waitFor()
    expect(await dialog.getByTestId('device-link-expiry').textContent()).toMatch(/expires at/)
    await screenshot(laptop, 'e2e-device-1-code')

    await phone.goto(serve.url)
    await phone.getByTestId('have-link-code').click()
    const form = phone.getByTestId('link-form')
    await form.getByTestId('link-code').fill(code)
    await form.getByTestId('link-ok').waitFor({ timeout: 20_000 })
    expect(await form.getByTestId('link-ok').textContent()).toContain('@alice')
    await form.getByTestId('link-password').fill('phone password')
    await form.getByTestId('link-repeat').fill('phone password')
    await form.getByTestId('link-submit').click()
    await phone.getByTestId('composer').waitFor({ timeout: 30_000 })
    expect(await phone.getByTestId('me-name').textContent()).toBe('Alice Smith')

    // history by the normal sync, then a post from the new device reaches the first as alice's
    await seeMessage(phone, 'written on the laptop', 30_000)
    await send(phone, 'written on the phone')
    await seeMessage(laptop, 'written on the phone', 30_000)
    const byPhone = laptop.getByTestId('message').filter({ hasText: 'written on the phone' })
    expect(await byPhone.locator('strong').first().textContent()).toBe('Alice Smith')
    const authors = await laptop
      .getByTestId('message')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-author')))
    expect(new Set(authors).size).toBe(2) // two device keys, one user
    await dialog
      .getByRole('button', { name: 'Done' })
      .click()
      .catch(() => undefined)
    expect(await laptop.locator('[data-testid=person][data-user=alice]').count()).toBe(1)
    expect(await phone.locator('[data-testid=person][data-user=alice]').count()).toBe(1)
    await screenshot(phone, 'e2e-device-1-phone')
  })
})
