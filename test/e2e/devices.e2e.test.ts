/**
 * A second device of one user in real headless Chromium against a real `parley serve` (issue #4
 * point 6): two browser profiles are two devices of alice. The first shows a one-time link code
 * (text and QR, with its expiry); the second enters it under "I have a link code", chooses its own
 * password, shows the room's history and posts as alice; the first sees that post under alice's
 * name, and the people list shows alice once. [E2E-DEV2]: a device linked after alice talked to
 * bob in a dm and made a room shows that dm (titled bob) and that room with their history, and its
 * reply in the dm reaches bob under alice's name. Screenshots: test-results/e2e-device-*.png.
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

/** The one-time link code the signed-in `page` shows under "Link another device". */
async function linkCode(page: Page): Promise<string> {
  await page.getByTestId('link-device').click()
  const field = page.getByTestId('link-device-dialog').getByTestId('device-link-code')
  await field.waitFor({ timeout: 20_000 })
  return field.inputValue()
}

/** Links the fresh `page` as a device of the code's user, under `password`. */
async function linkWith(page: Page, url: string, code: string, password: string): Promise<void> {
  await page.goto(url)
  await page.getByTestId('have-link-code').click()
  const form = page.getByTestId('link-form')
  await form.getByTestId('link-code').fill(code)
  await form.getByTestId('link-ok').waitFor({ timeout: 20_000 })
  await form.getByTestId('link-password').fill(password)
  await form.getByTestId('link-repeat').fill(password)
  await form.getByTestId('link-submit').click()
  await page.getByTestId('composer').waitFor({ timeout: 30_000 })
}

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

  it('[E2E-DEV2] a device linked later shows the dm with another user and the rooms, with their history; its dm reply reaches the other user as the same person', async () => {
    const [ctxL, ctxP, ctxB] = [
      await chrome.context(),
      await chrome.context(),
      await chrome.context(),
    ]
    const [dana, danaPhone, bob] = [
      await ctxL.newPage(),
      await ctxP.newPage(),
      await ctxB.newPage(),
    ]
    await dana.goto(serve.url)
    await signUp(dana, 'dana', 'Dana Jones', 'correct horse')
    await bob.goto(serve.url)
    await signUp(bob, 'bob', 'Bob Brown', 'battery staple')

    // dana opens a dm with bob from the people list; they talk
    await dana.locator('[data-testid=person][data-user=bob]').click({ timeout: 30_000 })
    await dana.getByTestId('room-title').filter({ hasText: 'Bob Brown' }).waitFor()
    await send(dana, 'hi bob, from the laptop')
    const bobDm = bob.getByTestId('room-link').filter({ hasText: 'Dana Jones' })
    await bobDm.click({ timeout: 30_000 })
    await seeMessage(bob, 'hi bob, from the laptop', 30_000)
    await send(bob, 'hi dana')
    await seeMessage(dana, 'hi dana', 30_000)
    const dm = await bobDm.getAttribute('data-room')
    // and a room of her own
    await dana.getByTestId('browse-rooms').click()
    await dana.getByTestId('new-room-name').fill('Dana Plans')
    await dana.getByTestId('create-room').click()
    await dana.getByTestId('room-title').filter({ hasText: 'Dana Plans' }).waitFor()
    await send(dana, 'a plan for later')
    await seeMessage(dana, 'a plan for later')

    const code = await linkCode(dana)
    await linkWith(danaPhone, serve.url, code, 'phone password')
    // the phone shows the dm (titled by bob) and the room, each with its history
    const phoneDm = danaPhone.locator(`[data-testid=room-link][data-room="${dm}"]`)
    await phoneDm.waitFor({ timeout: 45_000 })
    // titled by bob once its keys are here (until then it is locked: its meta is sealed)
    await phoneDm.filter({ hasText: 'Bob Brown' }).waitFor({ timeout: 45_000 })
    await danaPhone
      .getByTestId('room-link')
      .filter({ hasText: 'Dana Plans' })
      .click({ timeout: 45_000 })
    await seeMessage(danaPhone, 'a plan for later', 45_000)
    await phoneDm.click()
    await seeMessage(danaPhone, 'hi bob, from the laptop', 45_000)
    await seeMessage(danaPhone, 'hi dana', 45_000)
    await screenshot(danaPhone, 'e2e-device-2-phone-dm')

    // a reply from the phone reaches bob in the same dm, under dana's name; the laptop has it too
    await send(danaPhone, 'replying from the phone')
    await seeMessage(bob, 'replying from the phone', 45_000)
    const reply = bob.getByTestId('message').filter({ hasText: 'replying from the phone' })
    expect(await reply.locator('strong').first().textContent()).toBe('Dana Jones')
    // the laptop still shows "Dana Plans" under the (modal) link dialog: close it, open the dm
    await dana.getByTestId('link-device-dialog').getByRole('button', { name: 'Done' }).click()
    await dana.locator(`[data-testid=room-link][data-room="${dm}"]`).click()
    await seeMessage(dana, 'replying from the phone', 45_000)
    expect(await bob.locator('[data-testid=person][data-user=dana]').count()).toBe(1)
    expect(await bob.getByTestId('room-link').filter({ hasText: 'Dana Jones' }).count()).toBe(1)
    await screenshot(bob, 'e2e-device-2-bob')
  })
})
