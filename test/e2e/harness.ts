/**
 * E2E harness: a real `parley serve` (its own data directory, mDNS off, ephemeral ports) and
 * Debian's headless Chromium driven by playwright-core. Screenshots go to test-results/.
 *
 * Every serve runs an organisation, so people sign up as they would: the first account made on a
 * page the serve's own machine opened becomes the admin (the setup invitation), everyone else
 * redeems an invitation ({@link signUp} asks the serve that served the page for one, through its
 * control API, as `parley invite` does).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { callControl, findControl } from '../../src/node/control.ts'
import type { CliHarness, HarnessInit, Served } from '../helpers/cli.ts'

const ROOT = resolve(import.meta.dirname, '..', '..')
export const RESULTS = join(ROOT, 'test-results')

export interface ServePeer {
  url: string
  peerId: string
  dir: string
  /** A new single-use invitation code (`role`, expiring in `expiresInMs`). */
  invite(opts?: { role?: 'member' | 'admin'; expiresInMs?: number }): Promise<string>
  /** What the serve printed so far (stdout, then stderr): for a failure's diagnostics. */
  output(): string
  stop(): Promise<void>
}

/** Makes invitation codes for the serve whose peer id is the key (see {@link signUp}). */
const inviters = new Map<string, () => Promise<string>>()

/** Tells {@link signUp} how to get invitations from the serve `peerId` (startServe does it). */
export function registerInviter(peerId: string, invite: () => Promise<string>): () => void {
  inviters.set(peerId, invite)
  return () => inviters.delete(peerId)
}

/**
 * Invitations for a serve started with {@link CliHarness} (e.g. in another network namespace, whose
 * pages are not on its machine): the setup link it printed for the first admin, then codes from
 * `parley invite` run where the serve runs.
 */
export function registerServedInviter(h: CliHarness, serve: Served, init: HarnessInit = {}) {
  const line = serve.proc.lines.find((l) => l.startsWith('first admin link')) ?? ''
  let setup = /#invite=(\S+)$/.exec(line)?.[1]
  return registerInviter(serve.peerId, async () => {
    if (setup !== undefined) {
      const code = setup
      setup = undefined
      return code
    }
    const made = await h.run(['invite', '--data', serve.dir], init)
    const code = made.stdout.split('\n')[1]
    if (made.code !== 0 || code === undefined) throw new Error(`parley invite: ${made.stderr}`)
    return code
  })
}

/** An invitation from the running serve on `dir`, through its loopback control API. */
export async function inviteThrough(
  dir: string,
  opts: { role?: 'member' | 'admin'; expiresInMs?: number } = {},
): Promise<string> {
  const control = findControl(dir)
  if (control === undefined) throw new Error(`no serve runs on ${dir}`)
  const res = await callControl(control, 'invite', {
    body: { role: opts.role ?? 'member', expiresInMs: opts.expiresInMs ?? 86_400_000 },
  })
  const body = (await res.json()) as { code?: string; error?: string }
  if (body.code === undefined) throw new Error(`no invitation: ${body.error ?? res.status}`)
  return body.code
}

/** Starts `parley serve` (with `extraArgs`, e.g. `--file-quota 1MB`) and resolves once it prints `ready`. */
export async function startServe(
  dir = mkdtempSync(join(tmpdir(), 'parley-e2e-')),
  extraArgs: readonly string[] = [],
): Promise<ServePeer> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(ROOT, 'bin/parley.js'),
      'serve',
      '--no-mdns',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--tcp-port',
      '0',
      '--data',
      dir,
      '--name',
      'office-peer',
      '--org',
      'E2E Office',
      ...extraArgs,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  let err = ''
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
  const info = await new Promise<{ url: string; peerId: string }>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`serve not ready:\n${out}\n${err}`)), 30_000)
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      if (/^ready$/m.test(out)) {
        clearTimeout(timer)
        const url = /web app: (\S+)/.exec(out)?.[1]
        const peerId = /Parley peer (\S+)/.exec(out)?.[1]
        if (url === undefined || peerId === undefined) rej(new Error(`unexpected output:\n${out}`))
        else res({ url, peerId })
      }
    })
    child.once('exit', (code) => rej(new Error(`serve exited ${code}:\n${out}\n${err}`)))
  })
  const invite: ServePeer['invite'] = (opts) => inviteThrough(dir, opts)
  const unregister = registerInviter(info.peerId, () => invite())
  return {
    ...info,
    dir,
    invite,
    output: () => `${out}\n${err}`,
    async stop() {
      unregister()
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))])
        if (child.exitCode === null) child.kill('SIGKILL')
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface E2EBrowser {
  browser: Browser
  /** A fresh profile (own IndexedDB): one person's browser. */
  context(): Promise<BrowserContext>
  stop(): Promise<void>
}

export async function startChromium(): Promise<E2EBrowser> {
  // playwright-core gives every launch a fresh temporary profile (its own --user-data-dir).
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  return {
    browser,
    context: () =>
      browser.newContext({ viewport: { width: 1100, height: 720 }, reducedMotion: 'reduce' }),
    async stop() {
      await browser.close()
    },
  }
}

/** A `parley serve` and a Chromium for one test file, and a way to open one person's browser on it. */
export interface E2ESite {
  serve: ServePeer
  chrome: E2EBrowser
  /** A fresh profile (own IndexedDB) with the app open: one person's browser. */
  open(): Promise<{ ctx: BrowserContext; page: Page }>
  /** {@link open}, then {@link signUp} as `userId`. */
  signedUp(
    userId: string,
    name: string,
    password: string,
  ): Promise<{ ctx: BrowserContext; page: Page }>
  stop(): Promise<void>
}

export async function startSite(...serveArgs: Parameters<typeof startServe>): Promise<E2ESite> {
  const serve = await startServe(...serveArgs)
  const chrome = await startChromium().catch(async (err: unknown) => {
    await serve.stop()
    throw err
  })
  const open = async () => {
    const ctx = await chrome.context()
    const page = await ctx.newPage()
    await page.goto(serve.url)
    return { ctx, page }
  }
  return {
    serve,
    chrome,
    open,
    async signedUp(userId, name, password) {
      const opened = await open()
      await signUp(opened.page, userId, name, password)
      return opened
    },
    async stop() {
      await chrome.stop()
      await serve.stop()
    },
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(RESULTS, { recursive: true })
  await page.screenshot({ path: join(RESULTS, `${name}.png`) })
}

/**
 * Fills the sign-up form up to the invitation: none when the page offers the serve's setup (the
 * first admin), else `invite` or a new one from the serve that served the page. Waits until the
 * form says the invitation is good.
 */
export async function fillInvite(page: Page, invite?: string): Promise<'setup' | 'invited'> {
  await page.getByRole('tab', { name: 'Sign up' }).click()
  const form = page.getByTestId('signup-form')
  const setup = form.getByTestId('setup-notice')
  const field = form.getByTestId('invite-code')
  await setup.or(field).first().waitFor({ timeout: 20_000 })
  if (invite === undefined && (await setup.isVisible())) return 'setup'
  let code = invite
  if (code === undefined) {
    const { peerId } = await page.evaluate(() =>
      fetch('/api/info').then((r) => r.json() as Promise<{ peerId: string }>),
    )
    const make = inviters.get(peerId)
    if (make === undefined) throw new Error(`no inviter registered for the serve ${peerId}`)
    code = await make()
  }
  if (!(await field.isVisible())) throw new Error('the sign-up form has no invitation field')
  await field.fill(code)
  await form.getByTestId('invite-ok').waitFor({ timeout: 20_000 })
  return 'invited'
}

/**
 * Signs up on a fresh page and waits for the chat: the first account of a serve becomes its admin,
 * the others redeem an invitation (`invite`, or one made for them: see {@link fillInvite}).
 */
export async function signUp(
  page: Page,
  userId: string,
  name: string,
  password: string,
  invite?: string,
) {
  const how = await fillInvite(page, invite)
  const form = page.getByTestId('signup-form')
  await form.locator('input[name=userId]').fill(userId)
  await form.locator('input[name=name]').fill(name)
  await form.locator('input[name=password]').fill(password)
  await form.getByRole('button', { name: 'Create account' }).click()
  await page.getByTestId('composer').waitFor({ timeout: 30_000 })
  // The first admin: once admitted, the serve knows its setup invitation is spent (the next page
  // it serves is offered none).
  if (how === 'setup')
    await page.locator('[data-testid=connection][data-status=online]').waitFor({ timeout: 30_000 })
}

export async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('composer').fill(text)
  await page.getByTestId('composer').press('Enter')
}

/** Waits until a message with exactly `text` is shown. */
export async function seeMessage(page: Page, text: string, timeout = 20_000): Promise<void> {
  await page
    .getByTestId('message-text')
    .filter({ hasText: new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`) })
    .first()
    .waitFor({ timeout })
}
