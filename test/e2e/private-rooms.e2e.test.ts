/**
 * Private rooms in the web app, in Chromium against a real `parley serve` (an org: alice is its
 * first admin, bob and carol sign up by invitation):
 * - [PRIVW1] alice creates a private room with bob from "New room"; it shows a lock in the room list
 *   and the header; bob's browser joins it by itself, reads and replies; carol, an org member who is
 *   not in it, neither lists it nor finds it in Browse; the serve (no member) stores its entries and
 *   not one byte of its text, while it does store a public room's text;
 * - [PRIVW2] alice removes bob in the room's member list: bob's page says he is no longer a member,
 *   has no composer, and what alice writes next does not show on his page;
 * - [PRIVW3] bob makes a private room with alice and carol: carol (a plain member) has no Remove button,
 *   alice (an org admin, not its creator) has one beside each other person, and her removal of carol
 *   holds: carol's page says she is no longer a member and shows nothing written after.
 * Screenshots: test-results/private-*.png.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
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

/** Every byte of the serve's SQLite files (database and write-ahead log). */
function serveBytes(serve: ServePeer): Buffer {
  const files = readdirSync(serve.dir, { recursive: true, encoding: 'utf8' })
  const db = files.filter((f) => /(^|\/)history\.db/.test(f))
  if (db.length === 0) throw new Error(`no history.db under ${serve.dir}: ${files.join(', ')}`)
  return Buffer.concat(db.map((f) => readFileSync(join(serve.dir, f))))
}

describe('private rooms in the web app (Chromium + parley serve)', () => {
  let serve: ServePeer
  let chrome: E2EBrowser
  let a: Page
  let b: Page
  let c: Page
  let room = ''
  const contexts: BrowserContext[] = []
  const page = async (): Promise<Page> => {
    const ctx = await chrome.context()
    contexts.push(ctx)
    return ctx.newPage()
  }
  const person = (p: Page, userId: string) => p.locator(`[data-testid=person][data-user=${userId}]`)
  const texts = (p: Page) => p.getByTestId('message-text').allTextContents()
  const roomLink = (p: Page, id: string) => p.locator(`[data-testid=room-link][data-room="${id}"]`)

  beforeAll(async () => {
    serve = await startServe()
    chrome = await startChromium()
    a = await page()
    await a.goto(serve.url)
    await signUp(a, 'alice', 'Alice Admin', 'correct horse')
    b = await page()
    await b.goto(serve.url)
    await signUp(b, 'bob', 'Bob Builder', 'battery staple')
    c = await page()
    await c.goto(serve.url)
    await signUp(c, 'carol', 'Carol Crew', 'third person')
    for (const [p, who] of [
      [a, 'bob'],
      [a, 'carol'],
      [b, 'alice'],
      [c, 'alice'],
    ] as const)
      await person(p, who).waitFor({ timeout: 30_000 })
  }, 120_000)
  afterAll(async () => {
    for (const ctx of contexts) await ctx.close().catch(() => undefined)
    await chrome?.stop()
    await serve?.stop()
  })

  it('[PRIVW1] alice makes a private room with bob: bob reads and replies, carol never sees it, the serve holds ciphertext', async () => {
    await a.getByTestId('browse-rooms').click()
    await a.getByTestId('new-room-name').fill('Boardroom')
    await a.getByTestId('room-private').check()
    await a.locator('[data-testid=pick-person][data-user=bob]').check()
    await screenshot(a, 'private-1-new-room')
    await a.getByTestId('create-room').click()
    await a.getByTestId('room-lock').waitFor({ timeout: 20_000 })
    const link = a.locator('[data-testid=room-link][data-private=true]')
    room = (await link.getAttribute('data-room')) ?? ''
    expect(room).toMatch(/^p\./)
    expect(await a.getByTestId('room-title').textContent()).toContain('Boardroom')
    await send(a, 'numbers for the board')
    await seeMessage(a, 'numbers for the board')

    // bob's browser joins from the notice, shows the lock, reads and replies
    await roomLink(b, room).click({ timeout: 30_000 })
    await seeMessage(b, 'numbers for the board', 30_000)
    expect(await roomLink(b, room).getAttribute('data-private')).toBe('true')
    await b.getByTestId('room-lock').waitFor()
    await send(b, 'bob agrees')
    await seeMessage(a, 'bob agrees')
    await a.getByTestId('room-members-button').click()
    await a.locator('[data-testid=room-member][data-user=bob]').waitFor({ timeout: 10_000 })
    expect(await a.getByTestId('room-member').count()).toBe(2)
    await screenshot(a, 'private-1-members')
    await a.getByTestId('room-members').getByRole('button', { name: 'Close' }).click()
    await screenshot(b, 'private-1-bob')

    // a public message after the room was made reaches carol; the private room does not
    await roomLink(a, 'general').click()
    await send(a, 'public news for everyone')
    await seeMessage(c, 'public news for everyone', 30_000)
    expect(await roomLink(c, room).count()).toBe(0)
    expect(await c.locator('[data-testid=room-link][data-private=true]').count()).toBe(0)
    await c.getByTestId('browse-rooms').click()
    await c.getByTestId('browse').waitFor()
    expect(await c.locator(`[data-testid=listed-room][data-room="${room}"]`).count()).toBe(0)
    await screenshot(c, 'private-1-carol-browse')
    await c.getByTestId('browse').getByRole('button', { name: 'Close' }).click()

    // the serve holds the room (its id is in its entries) and none of its text
    await expect
      .poll(() => serveBytes(serve).includes('public news for everyone'), { timeout: 20_000 })
      .toBe(true)
    await expect.poll(() => serveBytes(serve).includes(room), { timeout: 20_000 }).toBe(true)
    const held = serveBytes(serve)
    for (const secret of ['numbers for the board', 'bob agrees', 'Boardroom'])
      expect(held.includes(secret), secret).toBe(false)
  })

  it('[PRIVW2] alice removes bob: his page says so, and he reads nothing written after', async () => {
    await roomLink(a, room).click()
    await a.getByTestId('room-members-button').click()
    await a
      .locator('[data-testid=room-member][data-user=bob] [data-testid=remove-member]')
      .click({ timeout: 10_000 })
    await a.getByTestId('confirm-yes').click()
    await a
      .locator('[data-testid=room-member][data-user=bob]')
      .waitFor({ state: 'detached', timeout: 10_000 })
    await screenshot(a, 'private-2-removed-by-alice')
    await a.getByTestId('room-members').getByRole('button', { name: 'Close' }).click()

    await b.getByTestId('not-a-member').waitFor({ timeout: 20_000 })
    expect(await b.getByTestId('composer').count()).toBe(0)

    await send(a, 'after bob was removed')
    await seeMessage(a, 'after bob was removed')
    // carol (in general) and bob get a later public message: bob's node has had the time the
    // private one took to travel the same way
    await roomLink(a, 'general').click()
    await send(a, 'later public note')
    await roomLink(b, 'general').click()
    await seeMessage(b, 'later public note', 30_000)
    await roomLink(b, room).click()
    await seeMessage(b, 'bob agrees')
    expect(await texts(b)).not.toContain('after bob was removed')
    await screenshot(b, 'private-2-bob-removed')
  })

  it('[PRIVW3] an org admin removes someone from a room another member made; a plain member cannot', async () => {
    await b.getByTestId('browse-rooms').click()
    await b.getByTestId('new-room-name').fill('Bob’s corner')
    await b.getByTestId('room-private').check()
    await b.locator('[data-testid=pick-person][data-user=alice]').check()
    await b.locator('[data-testid=pick-person][data-user=carol]').check()
    await b.getByTestId('create-room').click()
    await b.getByTestId('room-lock').waitFor({ timeout: 20_000 })
    const corner =
      (await b
        .locator('[data-testid=room-link][data-private=true]', { hasText: 'Bob’s corner' })
        .getAttribute('data-room')) ?? ''
    expect(corner).toMatch(/^p\./)
    await send(b, 'welcome to my corner')

    const member = (p: Page, userId: string) =>
      p.locator(`[data-testid=room-member][data-user=${userId}]`)
    // carol: a plain member sees the rule and no Remove button
    await roomLink(c, corner).click({ timeout: 30_000 })
    await seeMessage(c, 'welcome to my corner', 30_000)
    await c.getByTestId('room-members-button').click()
    await member(c, 'alice').waitFor({ timeout: 10_000 })
    await c.getByTestId('who-removes').waitFor()
    expect(await c.getByTestId('remove-member').count()).toBe(0)
    await c.getByTestId('room-members').getByRole('button', { name: 'Close' }).click()

    // alice: admin, not the creator, removes carol
    await roomLink(a, corner).click({ timeout: 30_000 })
    await seeMessage(a, 'welcome to my corner', 30_000)
    await a.getByTestId('room-members-button').click()
    await member(a, 'carol').waitFor({ timeout: 10_000 })
    expect(await member(a, 'bob').getByTestId('remove-member').count()).toBe(1)
    expect(await member(a, 'alice').textContent()).toContain('admin')
    await screenshot(a, 'private-3-admin-members')
    await member(a, 'carol').getByTestId('remove-member').click()
    await a.getByTestId('confirm-yes').click()
    await member(a, 'carol').waitFor({ state: 'detached', timeout: 10_000 })
    await a.getByTestId('room-members').getByRole('button', { name: 'Close' }).click()

    await c.getByTestId('not-a-member').waitFor({ timeout: 20_000 })
    await send(b, 'after carol was removed')
    await seeMessage(a, 'after carol was removed', 30_000)
    await roomLink(b, 'general').click()
    await send(b, 'a later public note from bob')
    await roomLink(c, 'general').click()
    await seeMessage(c, 'a later public note from bob', 30_000)
    await roomLink(c, corner).click()
    await seeMessage(c, 'welcome to my corner')
    expect(await texts(c)).not.toContain('after carol was removed')
    await screenshot(c, 'private-3-carol-removed')
  })
})
