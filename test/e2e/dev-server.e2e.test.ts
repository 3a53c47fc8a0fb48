/**
 * `npm run dev`: Vite's dev server (hot reload, the project's vite.config.ts) in front of a running
 * Node peer, `/api` and the libp2p WebSocket proxied to it through PARLEY_PEER. Two people sign up
 * on the dev server's page — the browsers are real libp2p peers of the Node peer behind it — and
 * a message goes both ways.
 */
import { createServer as listen } from 'node:net'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createServer, type ViteDevServer } from 'vite'
import type { Page } from 'playwright-core'
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

const ROOT = resolve(import.meta.dirname, '..', '..')

/** A port nobody listens on right now (Vite gets it with strictPort). */
async function freePort(): Promise<number> {
  const server = listen()
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res))
  const address = server.address()
  await new Promise<void>((res) => server.close(() => res()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

describe('npm run dev: Vite dev server proxying to a running parley serve', () => {
  let serve: ServePeer
  let vite: ViteDevServer
  let chrome: E2EBrowser
  let url: string
  const saved = process.env.PARLEY_PEER

  beforeAll(async () => {
    serve = await startServe()
    // vite.config.ts reads PARLEY_PEER when it is loaded, as `PARLEY_PEER=… npm run dev` does.
    process.env.PARLEY_PEER = serve.url.replace(/\/$/, '')
    const port = await freePort()
    vite = await createServer({
      configFile: resolve(ROOT, 'vite.config.ts'),
      logLevel: 'warn',
      server: { host: '127.0.0.1', port, strictPort: true },
    })
    await vite.listen()
    url = `http://127.0.0.1:${port}/`
    chrome = await startChromium()
  }, 120_000)
  afterAll(async () => {
    await chrome?.stop()
    await vite?.close()
    await serve?.stop()
    if (saved === undefined) delete process.env.PARLEY_PEER
    else process.env.PARLEY_PEER = saved
  })

  /** Opens the dev page; resolves with it and whether Vite's HMR socket has connected. */
  async function open(): Promise<{ page: Page; hmr: Promise<void> }> {
    const page = await (await chrome.context()).newPage()
    // Vite's client logs this once its HMR WebSocket is up: the proxy rule for libp2p's upgrade
    // of `/` must leave that socket (protocol vite-hmr) with Vite.
    const hmr = page
      .waitForEvent('console', {
        predicate: (m) => m.text().includes('[vite] connected'),
        timeout: 90_000,
      })
      .then(() => undefined)
    await page.goto(url)
    // The first load of a cold dev server may re-optimize dependencies and reload the page once:
    // wait until the app's module graph has settled before typing into it.
    await page.waitForLoadState('networkidle', { timeout: 90_000 })
    await page.getByRole('tab', { name: 'Sign up' }).waitFor({ timeout: 90_000 })
    return { page, hmr }
  }

  it('[DEV1] the dev page signs up, reaches the Node peer and chats both ways', async () => {
    const { page: a, hmr } = await open()
    await hmr
    await signUp(a, 'devon', 'Devon Dev', 'hot reload')
    const { page: b } = await open()
    await signUp(b, 'vita', 'Vita Vite', 'module graph')
    // The browsers' libp2p peer is the Node peer behind Vite, reached through the proxy.
    await a.getByTestId('connection').locator('summary').click()
    await a
      .getByTestId('peer')
      .filter({ hasText: 'office-peer' })
      .and(a.locator('[data-kind=direct]'))
      .waitFor({ timeout: 30_000 })
    await a
      .locator('[data-testid=person][data-user=vita][data-status=online]')
      .waitFor({ timeout: 30_000 })
    await a
      .getByTestId('connection')
      .and(a.locator('[data-status=online]'))
      .waitFor({ timeout: 30_000 })
    await send(a, 'served by vite')
    await seeMessage(b, 'served by vite')
    await send(b, 'synced through the node peer')
    await seeMessage(a, 'synced through the node peer')
    await screenshot(a, 'e2e-dev-server')
  })
})
