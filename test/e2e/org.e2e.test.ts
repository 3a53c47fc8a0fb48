/**
 * The organisation in the web app, in Chromium against a real `parley serve` (which made the org on
 * its first run and holds its root key):
 * - [ORGW1] the first sign-up on the serve's machine becomes the admin; the org's name shows;
 * - [ORGW2] the admin creates an invitation in the web app; a colleague opens the link, signs up
 *   and they chat; the people list is the signed directory;
 * - [ORGW3] the same link again, and an expired invitation, are refused with a clear error before
 *   anything is typed;
 * - [ORGW4] a browser holding a certificate nobody accepts (a reused invitation, redeemed by a page
 *   that ignores the serve's "used" answer — it does hold the network key) is refused admission:
 *   it reads nothing and what it writes reaches nobody, and it says "This invitation was already
 *   used" (the refusal reason the serve sends before closing);
 * - [ORGW5] the admin removes the colleague in the Admin panel: within 10 s the colleague's page is
 *   cut off and says so; what the admin writes next reaches a newcomer, not the removed one.
 * Screenshots: test-results/org-*.png.
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

describe('the organisation in the web app (Chromium + parley serve)', () => {
  let serve: ServePeer
  let chrome: E2EBrowser
  let a: Page
  let b: Page
  let link: string
  const contexts: BrowserContext[] = []
  const page = async (): Promise<Page> => {
    const ctx = await chrome.context()
    contexts.push(ctx)
    return ctx.newPage()
  }
  const person = (p: Page, userId: string) => p.locator(`[data-testid=person][data-user=${userId}]`)
  const texts = (p: Page) => p.getByTestId('message-text').allTextContents()

  beforeAll(async () => {
    serve = await startServe()
    chrome = await startChromium()
  }, 60_000)
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined)
    await chrome?.stop()
    await serve?.stop()
  })

  it('[ORGW1] the first sign-up on the serve’s machine becomes the admin', async () => {
    a = await page()
    await a.goto(serve.url)
    await a.getByRole('tab', { name: 'Sign up' }).click()
    await a.getByTestId('setup-notice').waitFor({ timeout: 20_000 })
    expect(await a.getByTestId('auth-org').textContent()).toBe('E2E Office')
    await screenshot(a, 'org-1-setup')
    await signUp(a, 'alice', 'Alice Admin', 'correct horse')
    expect(await a.getByTestId('org-name').textContent()).toBe('E2E Office')
    await a.getByTestId('open-admin').click()
    await a
      .locator('[data-testid=member][data-user=alice][data-role=admin]')
      .waitFor({ timeout: 10_000 })
    // the setup invitation is spent: the next page on this machine is asked for an invitation
    const next = await page()
    await next.goto(serve.url)
    await next.getByRole('tab', { name: 'Sign up' }).click()
    await next.getByTestId('invite-code').waitFor({ timeout: 20_000 })
    expect(await next.getByTestId('setup-notice').count()).toBe(0)
  })

  it('[ORGW2] an invitation made in the web app: the colleague opens the link, signs up, they chat', async () => {
    await a.getByTestId('create-invite').click()
    const field = a.getByTestId('invite-link')
    await field.waitFor({ timeout: 20_000 })
    link = await field.inputValue()
    expect(link).toMatch(/#invite=[\w-]+$/)
    await a.getByRole('img', { name: 'QR code of the invitation link' }).waitFor()
    await screenshot(a, 'org-2-invitation')
    await a.getByTestId('admin-close').click()

    b = await page()
    await b.goto(link)
    await b.getByTestId('invite-ok').waitFor({ timeout: 20_000 })
    await signUp(b, 'bob', 'Bob Member', 'battery staple', link)
    expect(new URL(b.url()).hash).toBe('') // the spent code leaves the address
    await send(b, 'hello from bob')
    await seeMessage(a, 'hello from bob')
    await send(a, 'welcome bob')
    await seeMessage(b, 'welcome bob')
    // the people list: the signed directory, both of us
    await person(a, 'bob').waitFor({ timeout: 20_000 })
    await person(b, 'alice').waitFor({ timeout: 20_000 })
    await screenshot(b, 'org-2-member-chat')
  })

  it('[ORGW3] a used and an expired invitation are refused before anything is typed', async () => {
    const again = await page()
    await again.goto(link)
    const error = again.getByTestId('invite-error')
    await error.filter({ hasText: 'already used' }).waitFor({ timeout: 20_000 })
    expect(await again.getByRole('button', { name: 'Create account' }).isDisabled()).toBe(true)
    await screenshot(again, 'org-3-used')

    const code = await serve.invite({ expiresInMs: 1_000 })
    // wait out the invitation's second of validity (a deadline on the clock, not an event)
    await new Promise((r) => setTimeout(r, 1_500))
    const late = await page()
    await late.goto(`${serve.url}#invite=${code}`)
    await late
      .getByTestId('invite-error')
      .filter({ hasText: 'expired' })
      .waitFor({ timeout: 20_000 })
    expect(await late.getByRole('button', { name: 'Create account' }).isDisabled()).toBe(true)
    await screenshot(late, 'org-3-expired')
  })

  it('[ORGW4] a browser whose certificate nobody accepts reads nothing and writes to nobody', async () => {
    const rogue = await page()
    // A modified client: it ignores the serve's "already used" and redeems the code anyway. It
    // holds the network key (the code carries it), so only admission keeps it out.
    await rogue.route('**/api/invite*', (route) => route.fulfill({ json: { status: 'open' } }))
    await rogue.goto(link)
    await signUp(rogue, 'mallory', 'Mallory', 'let me in please', link)
    await send(rogue, 'rogue was here')
    await send(a, 'members only')
    await seeMessage(b, 'members only')
    // b's own message after it, to a: a has what b sent since, and nothing from the rogue
    await send(b, 'after the rogue')
    await seeMessage(a, 'after the rogue')
    expect(await texts(a)).not.toContain('rogue was here')
    expect(await texts(b)).not.toContain('rogue was here')
    expect(await texts(rogue)).not.toContain('members only')
    expect(await texts(rogue)).not.toContain('welcome bob')
    expect(await rogue.getByTestId('connection').getAttribute('data-status')).toBe('offline')
    expect(await person(a, 'mallory').count()).toBe(0)
    // and it says why instead of staying offline without a word (the serve's refusal reason)
    const notice = rogue.getByTestId('refused')
    await notice.waitFor({ timeout: 20_000 })
    expect(await notice.getAttribute('data-code')).toBe('invite-used')
    expect(await notice.getByRole('heading').textContent()).toBe('This invitation was already used')
    expect(await notice.textContent()).toContain('Ask your admin for a new one.')
    await screenshot(rogue, 'org-4-rogue')
  })

  it('[ORGW5] the admin removes the colleague: its page is cut off within 10 s and says so', async () => {
    await a.getByTestId('open-admin').click()
    await a.locator('[data-testid=member][data-user=bob] [data-testid=revoke]').click()
    await a.getByTestId('confirm-yes').click()
    const t0 = Date.now()
    await b.getByTestId('removed').waitFor({ timeout: 10_000 })
    console.log(`removed notice shown ${Date.now() - t0} ms after the admin confirmed`)
    // every peer it was connected to (the serve, the admin's browser) drops it — the admin's page
    // lists no connection to it — and its own page stops its node: within 10 s of the confirmation
    const left = (): number => Math.max(1, 10_000 - (Date.now() - t0))
    await b.locator('[data-testid=connection][data-status=offline]').waitFor({ timeout: left() })
    await a.getByTestId('peer').filter({ hasText: 'Bob Member' }).waitFor({
      state: 'detached',
      timeout: left(),
    })
    console.log(`disconnected ${Date.now() - t0} ms after the admin confirmed`)
    await b.locator('[data-testid=connection][data-status=offline]').waitFor({ timeout: 10_000 })
    await screenshot(b, 'org-5-removed')
    await a
      .locator('[data-testid=member][data-user=bob][data-revoked=true]')
      .waitFor({ timeout: 10_000 })
    await a.getByTestId('admin-close').click()
    // after the removal nothing reaches b (a newcomer does get it)
    await b.getByTestId('removed-sign-out').waitFor()
    await send(a, 'after removal')
    const c = await page()
    await c.goto(serve.url)
    await signUp(c, 'carol', 'Carol New', 'third person')
    await seeMessage(c, 'after removal')
    expect(await texts(b)).not.toContain('after removal')
  })
})
