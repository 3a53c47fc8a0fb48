/**
 * The web app in real headless Chromium against a real `parley serve`: two people in two browser
 * profiles sign up, chat in a room and a dm, see presence change, go offline and back, reload,
 * and mistype a password. Screenshots: test-results/e2e-*.png.
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
  fillInvite,
  type E2EBrowser,
  type ServePeer,
} from './harness.ts'

describe('web app end to end (Chromium + parley serve)', () => {
  let serve: ServePeer
  let chrome: E2EBrowser
  let ctxA: BrowserContext
  let ctxB: BrowserContext
  let a: Page
  let b: Page

  beforeAll(async () => {
    serve = await startServe()
    chrome = await startChromium()
    ctxA = await chrome.context()
    ctxB = await chrome.context()
    a = await ctxA.newPage()
    b = await ctxB.newPage()
  })
  afterAll(async () => {
    await chrome?.stop()
    await serve?.stop()
  })

  const person = (page: Page, userId: string) =>
    page.locator(`[data-testid=person][data-user=${userId}]`)

  it('[E2E1] two people sign up, create a room, chat both ways, start a dm', async () => {
    await a.goto(serve.url)
    await signUp(a, 'alice', 'Alice Smith', 'correct horse')
    await b.goto(serve.url)
    await signUp(b, 'bob', 'Bob Jones', 'battery staple')
    await person(a, 'bob').and(a.locator('[data-status=online]')).waitFor({ timeout: 20_000 })
    await person(b, 'alice').and(b.locator('[data-status=online]')).waitFor({ timeout: 20_000 })
    expect(await a.getByTestId('connection').getAttribute('data-status')).toBe('online')

    await a.getByTestId('browse-rooms').click()
    await a.getByTestId('new-room-name').fill('Launch Plans')
    await a.getByTestId('create-room').click()
    await a.getByTestId('room-title').filter({ hasText: 'Launch Plans' }).waitFor()
    await send(a, 'hello bob')
    await seeMessage(a, 'hello bob')

    await b.getByTestId('browse-rooms').click()
    await b
      .locator('[data-testid=listed-room][data-room=launch-plans]')
      .waitFor({ timeout: 20_000 })
    await b
      .locator('[data-testid=listed-room][data-room=launch-plans] [data-testid=join-room]')
      .click()
    await seeMessage(b, 'hello bob')
    await send(b, 'hi alice')
    await seeMessage(a, 'hi alice')
    await screenshot(a, 'e2e-1-room-alice')

    // unread: bob looks at general while alice writes in the room
    await b.locator('[data-testid=room-link][data-room=general]').click()
    await send(a, 'are you there?')
    await b
      .locator('[data-testid=room-link][data-room=launch-plans] [data-testid=unread]')
      .filter({ hasText: '1' })
      .waitFor({ timeout: 20_000 })
    await screenshot(b, 'e2e-1-unread-bob')

    // typing shows on the other side
    await b.locator('[data-testid=room-link][data-room=launch-plans]').click()
    await a.getByTestId('composer').pressSequentially('typing…', { delay: 20 })
    await b.getByTestId('typing').filter({ hasText: 'Alice Smith is typing' }).waitFor()
    await a.getByTestId('composer').fill('')
    await b.locator('[data-testid=room-link][data-room=general]').click()

    // a dm from the people list
    await person(b, 'alice').click()
    await b.getByTestId('room-title').filter({ hasText: 'Alice Smith' }).waitFor()
    await send(b, 'just between us')
    const dmLink = a.locator('[data-testid=room-link]').filter({ hasText: 'Bob Jones' })
    await dmLink.waitFor({ timeout: 20_000 })
    await dmLink.click()
    await seeMessage(a, 'just between us')
    await send(a, 'sure')
    await seeMessage(b, 'sure')
    await b.locator('[data-testid=message][data-state=delivered]').first().waitFor()
    await screenshot(a, 'e2e-1-dm-alice')
  })

  it('[E2E2] offline: presence changes, a message written offline is pending, then arrives', async () => {
    await b.locator('[data-testid=room-link][data-room=general]').click()
    await a.locator('[data-testid=room-link][data-room=general]').click()
    // Offline emulation cuts HTTP and WebSocket but not an established WebRTC link between the
    // two browsers: reload bob's tab offline (the service worker serves the page), so that it
    // starts with no connection at all, as a PC off the network would. One online reload first
    // fills the service worker's cache.
    await b.reload()
    await b.getByTestId('composer').waitFor()
    await ctxB.setOffline(true)
    await b.reload()
    await b.getByTestId('composer').waitFor()
    await b
      .getByTestId('connection')
      .and(b.locator('[data-status=offline]'))
      .waitFor({ timeout: 30_000 })
    await person(a, 'bob').and(a.locator('[data-status=offline]')).waitFor({ timeout: 30_000 })
    await send(b, 'written while offline')
    await seeMessage(b, 'written while offline')
    await b
      .locator('[data-testid=message][data-state=pending]')
      .filter({ hasText: 'written while offline' })
      .waitFor({ timeout: 5_000 })
    await screenshot(b, 'e2e-2-offline-bob')
    await screenshot(a, 'e2e-2-bob-offline-seen-by-alice')

    await ctxB.setOffline(false)
    await seeMessage(a, 'written while offline', 45_000)
    await b
      .locator('[data-testid=message][data-state=delivered]')
      .filter({ hasText: 'written while offline' })
      .waitFor({ timeout: 30_000 })
    await person(a, 'bob').and(a.locator('[data-status=online]')).waitFor({ timeout: 30_000 })
    await screenshot(a, 'e2e-2-back-online-alice')
  })

  it('[E2E3] a reload keeps history and the unsent draft', async () => {
    await a.getByTestId('composer').fill('a draft I did not send')
    await a.reload()
    await seeMessage(a, 'written while offline')
    expect(await a.getByTestId('composer').inputValue()).toBe('a draft I did not send')
    await screenshot(a, 'e2e-3-reloaded-alice')
    // with the network down the page comes from the service worker, the history from IndexedDB
    await ctxA.setOffline(true)
    await a.reload()
    await seeMessage(a, 'written while offline')
    expect(await a.getByTestId('composer').inputValue()).toBe('a draft I did not send')
    await a.getByTestId('connection').and(a.locator('[data-status=offline]')).waitFor()
    await screenshot(a, 'e2e-3-reloaded-offline-alice')
    // The period documents it showed are y-indexeddb databases, one per room and day, beside the
    // account's entry store.
    const dbs = await a.evaluate(async () => (await indexedDB.databases()).map((d) => d.name))
    expect(
      dbs.filter((n) => /^parley-history-[^/]+\/[a-z0-9._-]+\/\d+$/.test(n ?? '')),
    ).not.toEqual([])
    await ctxA.setOffline(false)
    await a
      .getByTestId('connection')
      .and(a.locator('[data-status=online]'))
      .waitFor({ timeout: 30_000 })
  })

  it('[E2E4] a wrong password is refused; the right one signs in', async () => {
    await a.getByTestId('composer').fill('')
    await a.getByTestId('sign-out').click()
    const form = a.getByTestId('signin-form')
    await form.locator('input[name=userId]').fill('alice')
    await form.locator('input[name=password]').fill('wrong horse')
    await form.getByRole('button', { name: 'Sign in' }).click()
    await a.getByTestId('auth-error').filter({ hasText: 'Wrong password' }).waitFor()
    await screenshot(a, 'e2e-4-wrong-password')
    await form.locator('input[name=password]').fill('correct horse')
    await form.getByRole('button', { name: 'Sign in' }).click()
    await seeMessage(a, 'written while offline')
  })

  it('[E2E9] change password: a wrong current one is refused; then the new one signs in, the old not', async () => {
    await a.getByTestId('change-password').click()
    const dialog = a.getByTestId('password-dialog')
    await dialog.getByTestId('pw-old').fill('not my password')
    await dialog.getByTestId('pw-new').fill('battery staple')
    await dialog.getByTestId('pw-repeat').fill('battery staple')
    await dialog.getByTestId('pw-submit').click()
    await dialog.getByTestId('pw-error').filter({ hasText: 'Wrong password' }).waitFor()
    await dialog.getByTestId('pw-old').fill('correct horse')
    await dialog.getByTestId('pw-submit').click()
    await dialog.getByTestId('password-changed').waitFor()
    await screenshot(a, 'e2e-9-password-changed')
    await dialog.getByRole('button', { name: 'Close' }).click()
    await a.getByTestId('sign-out').click()
    const form = a.getByTestId('signin-form')
    await form.locator('input[name=userId]').fill('alice')
    await form.locator('input[name=password]').fill('correct horse')
    await form.getByRole('button', { name: 'Sign in' }).click()
    await a.getByTestId('auth-error').filter({ hasText: 'Wrong password' }).waitFor()
    await form.locator('input[name=password]').fill('battery staple')
    await form.getByRole('button', { name: 'Sign in' }).click()
    await seeMessage(a, 'written while offline')
  })

  it('[E2E6] phone width and dark theme', async () => {
    await a.setViewportSize({ width: 390, height: 760 })
    await a.getByRole('button', { name: 'Rooms and people' }).click()
    await a.getByTestId('theme').click() // system → light
    await a.getByTestId('theme').click() // light → dark
    await a.locator('[data-testid=room-link][data-room=launch-plans]').click()
    await seeMessage(a, 'hi alice')
    await screenshot(a, 'e2e-6-phone-dark')
    expect(await a.evaluate(() => document.documentElement.dataset.theme)).toBe('dark')
    await a.setViewportSize({ width: 1100, height: 720 })
  })

  it('[E2E7] the same account in a second tab is refused, not forked', async () => {
    const second = await ctxB.newPage()
    await second.goto(serve.url)
    await second.getByTestId('auth-error').filter({ hasText: 'another tab' }).waitFor()
    await screenshot(second, 'e2e-7-second-tab')
    await second.close()
    await a.locator('[data-testid=room-link][data-room=general]').click()
    await send(b, 'first tab still works')
    await seeMessage(a, 'first tab still works')
  })

  it('[E2E8] keyboard only: emoji picker, Shift+Enter for a new line, Enter to send', async () => {
    const composer = a.getByTestId('composer')
    await composer.focus()
    await a.keyboard.type('ship it ')
    await a.keyboard.press('Tab')
    await a.keyboard.press('Enter') // the emoji button
    await a.keyboard.type('rocket')
    await a.keyboard.press('Enter') // first match, back in the composer
    await a.keyboard.press('Shift+Enter')
    await a.keyboard.type('tomorrow')
    expect(await composer.inputValue()).toBe('ship it 🚀\ntomorrow')
    await a.keyboard.press('Enter')
    await seeMessage(b, 'ship it 🚀\ntomorrow')
    await screenshot(b, 'e2e-8-keyboard-message')
  })

  it('[E2E5] a user ID already taken in the organisation is refused', async () => {
    const ctx = await chrome.context()
    const c = await ctx.newPage()
    await c.goto(serve.url)
    await fillInvite(c)
    const form = c.getByTestId('signup-form')
    await form.locator('input[name=userId]').fill('alice')
    await form.locator('input[name=name]').fill('Another Alice')
    await form.locator('input[name=password]').fill('different pw')
    await form.getByRole('button', { name: 'Create account' }).click()
    // the serve tells it before an account is made: the invitation stays unused
    await c
      .getByTestId('auth-error')
      .filter({ hasText: 'already taken' })
      .waitFor({ timeout: 30_000 })
    await screenshot(c, 'e2e-5-user-id-taken')
    await form.locator('input[name=userId]').fill('alice2')
    await form.getByRole('button', { name: 'Create account' }).click()
    await c.getByTestId('composer').waitFor({ timeout: 30_000 })
    await person(a, 'alice2').waitFor({ timeout: 20_000 })
    await ctx.close()
  })
})
