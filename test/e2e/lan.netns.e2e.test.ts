/**
 * The web app as colleagues' PCs see it: `parley serve` in one network namespace, each PC (one
 * Chromium each) in a namespace of its own, joined by veth pairs (all created and removed here).
 * pc1 and pc3 share a LAN segment with the Node peer; pc2 is on a second segment that reaches the
 * Node peer but not the other PCs (the Node peer's namespace does not forward). Every PC has a
 * default route (Chromium gathers no ICE candidates without one: FACTS). The app is loaded by the
 * Node peer's LAN address over HTTPS, with the organisation's CA imported into each Chromium's NSS
 * database, as a person would trust it.
 *
 * - [LAN1] plain http by the LAN address: the trust page, which opens https once the CA is trusted;
 *   the https page is a secure context. Without script the trust page stays, offers the CA.
 * - [LAN2] pc1 and pc2 cannot reach each other, so no direct link is possible: two people sign up
 *   and chat both ways, all through the Node peer.
 * - [LAN3] pc1 and pc3 on one segment: their browsers set up a direct WebRTC link through the Node
 *   peer as circuit relay (no STUN/TURN), both connection panels show it, and messages flow.
 * - [LAN4] the Node peer stops: the two browsers keep talking over their WebRTC link.
 *
 * Screenshots: test-results/lan-*.png.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrowserContext, Page } from 'playwright-core'
import { CliHarness, type Served } from '../helpers/cli.ts'
import { registerServedInviter, screenshot, seeMessage, send, signUp } from './harness.ts'
import {
  createLan,
  launchChromiumIn,
  netnsUnsupported,
  udpReaches,
  type Lan,
  type NsChromium,
} from './netns.ts'

describe('the web app from another machine on the LAN (network namespaces, HTTPS)', () => {
  const h = new CliHarness()
  let lan: Lan | undefined
  let serve: Served
  let ca: string
  const chromes = new Map<string, NsChromium>()
  const contexts: BrowserContext[] = []
  /** The app's https address as `pc` reaches it. */
  const https = (pc: string): string => `https://${lan!.gateway[pc]}:${serve.webPort}/`

  async function chromeIn(pc: string): Promise<NsChromium> {
    let c = chromes.get(pc)
    if (c === undefined) {
      c = await launchChromiumIn(lan!.ns[pc]!, ca)
      chromes.set(pc, c)
    }
    return c
  }

  async function open(pc: string, url = https(pc), javaScriptEnabled = true): Promise<Page> {
    const chrome = await chromeIn(pc)
    const ctx = await chrome.browser.newContext({
      viewport: { width: 1100, height: 720 },
      reducedMotion: 'reduce',
      javaScriptEnabled,
    })
    contexts.push(ctx)
    // Keeps every RTCPeerConnection the page makes, to report what ICE really did.
    await ctx.addInitScript(() => {
      const Original = RTCPeerConnection
      const all: RTCPeerConnection[] = []
      ;(window as unknown as { pcs: RTCPeerConnection[] }).pcs = all
      window.RTCPeerConnection = class extends Original {
        constructor(config?: RTCConfiguration) {
          super(config)
          all.push(this)
        }
      }
    })
    const page = await ctx.newPage()
    await page.goto(url)
    return page
  }

  /** The connection panel's rows, opened. */
  async function connections(page: Page): Promise<{ kind: string; text: string }[]> {
    const panel = page.getByTestId('connection')
    if ((await panel.getAttribute('open')) === null) await panel.locator('summary').click()
    return page
      .getByTestId('peer')
      .evaluateAll((rows) =>
        rows.map((r) => ({ kind: r.getAttribute('data-kind') ?? '', text: r.textContent ?? '' })),
      )
  }

  /** connectionState and the selected candidate pair of each RTCPeerConnection of the page. */
  const iceStates = (page: Page): Promise<string[]> =>
    page.evaluate(async () => {
      const out: string[] = []
      for (const pc of (window as unknown as { pcs: RTCPeerConnection[] }).pcs) {
        let pair = ''
        ;(await pc.getStats()).forEach(
          (r: { type: string; state?: string; nominated?: boolean }) => {
            if (r.type === 'candidate-pair' && r.nominated === true) pair += ` ${r.state}`
          },
        )
        out.push(`${pc.connectionState}/${pc.iceConnectionState}${pair}`)
      }
      return out
    })

  beforeAll(async () => {
    const why = netnsUnsupported()
    if (why !== undefined) throw new Error(`lan.netns.e2e.test.ts ${why}`)
    lan = createLan('node', [['pc1', 'pc3'], ['pc2']])
    for (const pc of ['pc1', 'pc2', 'pc3']) lan.defaultRoute(pc)
    const inNode = { prefix: ['ip', 'netns', 'exec', lan.ns.node!] }
    serve = await h.serve(h.tmpDir(), ['--name', 'office-peer'], inNode)
    // Pages here are not on the serve's machine: the first admin opens the setup link the serve
    // printed, the others invitations from `parley invite` (run where the serve runs).
    registerServedInviter(h, serve, inNode)
    // One certificate for both of the Node peer's LAN addresses.
    expect(serve.proc.lines).toContain(`web app over https: ${https('pc1')}`)
    expect(serve.proc.lines).toContain(`web app over https: ${https('pc2')}`)
    ca = readFileSync(join(serve.dir, 'tls', 'ca.crt'), 'utf8')
    expect(serve.proc.lines).toContain(
      `CA fingerprint (SHA-256): ${new X509Certificate(ca).fingerprint256}`,
    )
  })

  afterAll(async () => {
    try {
      for (const c of contexts) await c.close().catch(() => undefined)
      for (const c of chromes.values()) await c.stop().catch(() => undefined)
      await h.cleanup()
    } finally {
      lan?.remove()
    }
  })

  it('[LAN1] plain http by the LAN address explains the CA, then opens https; a secure context', async () => {
    const plain = `http://${lan!.gateway.pc1}:${serve.webPort}/`
    const page = await open('pc1', plain)
    // The CA is trusted here, so the trust page moves on by itself.
    await page.waitForURL(https('pc1'), { timeout: 20_000 })
    await page.getByRole('tab', { name: 'Sign up' }).waitFor({ timeout: 20_000 })
    expect(
      await page.evaluate(() => ({
        secure: window.isSecureContext,
        subtle: typeof crypto.subtle?.digest,
        uuid: typeof crypto.randomUUID,
      })),
    ).toEqual({ secure: true, subtle: 'function', uuid: 'function' })
    await page.context().close()
    // What a colleague whose browser does not trust the CA yet sees (no script: no move on).
    const still = await open('pc1', plain, false)
    await still.getByTestId('trust-page').waitFor()
    expect(still.url()).toBe(plain)
    expect(await still.getByTestId('https-link').getAttribute('href')).toBe(https('pc1'))
    expect(await still.getByTestId('fingerprint').textContent()).toBe(
      new X509Certificate(readFileSync(join(serve.dir, 'tls', 'ca.crt'))).fingerprint256,
    )
    await screenshot(still, 'lan-1-trust-page')
    const [download] = await Promise.all([
      still.waitForEvent('download'),
      still.getByTestId('ca-link').click(),
    ])
    expect(download.suggestedFilename()).toBe('parley-ca.crt')
    expect(readFileSync(await download.path(), 'utf8')).toBe(
      readFileSync(join(serve.dir, 'tls', 'ca.crt'), 'utf8'),
    )
    await still.context().close()
  })

  it('[LAN2] no direct link possible (PCs on two segments): sign up and chat through the Node peer', async () => {
    const c = await open('pc1')
    const d = await open('pc2')
    await signUp(c, 'carol', 'Carol King', 'pass carol 1')
    await signUp(d, 'dave', 'Dave Brown', 'pass dave 1')
    expect(c.url()).toBe(https('pc1'))
    expect(d.url()).toBe(https('pc2'))
    // The serving peer's name arrives with its presence (every 5 s).
    await expect
      .poll(async () => (await connections(c)).map((r) => r.text).join(' | '), { timeout: 20_000 })
      .toContain('office-peer')
    await send(c, 'hello dave, over https')
    await seeMessage(d, 'hello dave, over https', 30_000)
    await send(d, 'hi carol')
    await seeMessage(c, 'hi carol')
    // pc1 and pc2 cannot reach each other, so nothing but the Node peer carries these. Keep
    // talking for longer than a WebRTC dial attempt (10 s): the failed dials change nothing.
    expect(await udpReaches(lan!, 'pc1', 'pc2')).toBe(false)
    expect(await udpReaches(lan!, 'pc1', 'pc3')).toBe(true)
    // A failed dial leaves the receiving browser a WebRTC connection that never connected
    // (@libp2p/webrtc 6.0.33); src/net/webrtc-check.ts closes it within 5 s, and until a WebRTC
    // link has carried a round trip neither panel shows it: at no moment does one claim a direct
    // link that carries nothing.
    const claimed: string[] = []
    for (let i = 0; i < 6; i++) {
      await send(d, `still here ${i}`)
      await seeMessage(c, `still here ${i}`)
      await send(c, `and here ${i}`)
      await seeMessage(d, `and here ${i}`)
      for (let t = 0; t < 8; t++) {
        for (const page of [c, d])
          for (const r of await connections(page))
            if (r.text.includes('WebRTC')) claimed.push(r.text)
        await c.waitForTimeout(250)
      }
    }
    console.log('[LAN2] carol sees', await connections(c), await iceStates(c))
    expect(claimed).toEqual([])
    const rows = await connections(c)
    expect(rows.find((r) => r.text.includes('office-peer'))?.text).toContain('WebSocket')
    await screenshot(c, 'lan-2-relayed-carol')
    await c.context().close()
    await chromes.get('pc2')?.stop()
    chromes.delete('pc2')
  })

  let a: Page
  let b: Page

  it('[LAN3] with a default route the browsers link directly over WebRTC through the relay', async () => {
    a = await open('pc1')
    b = await open('pc3')
    await signUp(a, 'alice', 'Alice Smith', 'correct horse')
    await signUp(b, 'bob', 'Bob Jones', 'battery staple')
    const started = Date.now()
    const direct = { kind: 'direct', text: expect.stringContaining('WebRTC') }
    for (const [page, other] of [
      [a, 'Bob Jones'],
      [b, 'Alice Smith'],
    ] as const) {
      await expect
        .poll(async () => (await connections(page)).find((r) => r.text.includes(other)), {
          timeout: 60_000,
          interval: 500,
        })
        .toMatchObject(direct)
    }
    console.log('[LAN3] alice ICE', await iceStates(a))
    console.log(`[LAN3] direct WebRTC link after ${Date.now() - started} ms from sign-up`)
    // A dm of their own, started from the people list, over the direct link.
    await b.locator('[data-testid=person][data-user=alice]').click()
    await b.getByTestId('room-title').filter({ hasText: 'Alice Smith' }).waitFor()
    await send(b, 'over webrtc, alice?')
    const dmLink = a.locator('[data-testid=room-link]').filter({ hasText: 'Bob Jones' })
    await dmLink.waitFor({ timeout: 20_000 })
    await dmLink.click()
    await seeMessage(a, 'over webrtc, alice?')
    await send(a, 'yes bob')
    await seeMessage(b, 'yes bob')
    await screenshot(a, 'lan-3-webrtc-alice')
  })

  it('[LAN4] the relay goes away: messages keep flowing over the direct link', async () => {
    await serve.stop()
    console.log('[LAN4] relay stopped', Date.now())
    await expect
      .poll(async () => (await connections(a)).map((r) => r.text).join(' | '), { timeout: 30_000 })
      .not.toContain('office-peer')
    for (let i = 0; i < 5; i++) {
      try {
        await send(a, `no relay ${i}`)
        await seeMessage(b, `no relay ${i}`)
        await send(b, `still direct ${i}`)
        await seeMessage(a, `still direct ${i}`)
      } catch (err) {
        console.log('[LAN4] DEBUG', i, Date.now(), await connections(a), await connections(b))
        await screenshot(a, 'lan-4-debug-a')
        await screenshot(b, 'lan-4-debug-b')
        throw err
      }
    }
    expect((await connections(a)).find((r) => r.text.includes('Bob Jones'))?.kind).toBe('direct')
    await screenshot(a, 'lan-4-no-relay-alice')
  })
})
