/**
 * E2E harness: a real `parley serve` (its own data directory, mDNS off, ephemeral ports) and
 * Debian's headless Chromium driven by playwright-core. Screenshots go to test-results/.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'

const ROOT = resolve(import.meta.dirname, '..', '..')
export const RESULTS = join(ROOT, 'test-results')

export interface ServePeer {
  url: string
  peerId: string
  dir: string
  stop(): Promise<void>
}

/** Starts `parley serve` and resolves once it prints `ready`. */
export async function startServe(
  dir = mkdtempSync(join(tmpdir(), 'parley-e2e-')),
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
  return {
    ...info,
    dir,
    async stop() {
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

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(RESULTS, { recursive: true })
  await page.screenshot({ path: join(RESULTS, `${name}.png`) })
}

/** Signs up on a fresh page and waits for the chat. */
export async function signUp(page: Page, userId: string, name: string, password: string) {
  await page.getByRole('tab', { name: 'Sign up' }).click()
  const form = page.getByTestId('signup-form')
  await form.locator('input[name=userId]').fill(userId)
  await form.locator('input[name=name]').fill(name)
  await form.locator('input[name=password]').fill(password)
  await form.getByRole('button', { name: 'Create account' }).click()
  await page.getByTestId('composer').waitFor({ timeout: 30_000 })
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
