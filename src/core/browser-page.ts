/**
 * What the browser peer needs from its page (src/core/browser.ts): the address of the Node peer
 * that served it, that peer's `/api/info`, one tab per account (a Web Lock), and the moment the
 * first room has been painted.
 */
import { createLogger } from '../net/logger.ts'
import type { HistoryStore } from './store.ts'

const log = createLogger('parley:core:browser')
const enc = new TextEncoder()
const dec = new TextDecoder()

/** The parts of `location` that decide the address. */
export interface PageOrigin {
  protocol: string
  hostname: string
  port: string
}

/** The libp2p address of the Node peer that served `page`, whose id is `peerId`. */
export function peerAddress(page: PageOrigin, peerId: string): string {
  const secure = page.protocol === 'https:'
  const port = page.port !== '' ? page.port : secure ? '443' : '80'
  const host = page.hostname.replace(/^\[|\]$/g, '')
  const proto = /^\d+\.\d+\.\d+\.\d+$/.test(host) ? 'ip4' : host.includes(':') ? 'ip6' : 'dns4'
  return `/${proto}/${host}/tcp/${port}/${secure ? 'wss' : 'ws'}/p2p/${peerId}`
}

/**
 * The serving peer's address: the one remembered from the last run (`net/bootstrap`), so that
 * neither the history nor the node waits for `/api/info` (nor for its timeout when the network is
 * down); only a first run with none remembered waits for it. `fresh`: the address `info` gives,
 * remembered once known.
 */
export async function servingAddress(
  settings: Pick<HistoryStore, 'getSetting' | 'putSetting'>,
  page: PageOrigin,
  info: Promise<ServingInfo>,
): Promise<{ addr: string | undefined; fresh: Promise<string> }> {
  const saved = await settings.getSetting('net/bootstrap')
  let addr = saved === undefined ? undefined : dec.decode(saved)
  const fresh = info.then(async ({ peerId }) => {
    const a = peerAddress(page, peerId)
    if (a !== addr) await settings.putSetting('net/bootstrap', enc.encode(a))
    return a
  })
  fresh.catch((err: unknown) => log('cannot reach /api/info (%e); using %s', err, addr ?? 'none'))
  if (addr === undefined) addr = await fresh.catch(() => undefined)
  return { addr, fresh }
}

/** What `/api/info` says: the serving peer's id and, if it has one, its org. */
export interface ServingInfo {
  peerId: string
  org?: { name: string; orgId: string; setup?: string }
}

/** `/api/info` of the page's origin. */
export async function fetchInfo(): Promise<ServingInfo> {
  const res = await fetch('/api/info', { cache: 'no-store', signal: AbortSignal.timeout(4_000) })
  if (!res.ok) throw new Error(`/api/info answered ${res.status}`)
  const body = (await res.json()) as { peerId?: unknown; org?: ServingInfo['org'] }
  if (typeof body.peerId !== 'string') throw new Error('/api/info has no peer id')
  const org = body.org
  const valid = typeof org?.name === 'string' && typeof org.orgId === 'string'
  return { peerId: body.peerId, ...(valid ? { org } : {}) }
}

/** The account is already open in another tab of this browser. */
export class OpenElsewhereError extends Error {
  static override readonly name = 'OpenElsewhereError'
  constructor() {
    super('Parley is already open for this account in another tab. Use that tab, or close it.')
    this.name = 'OpenElsewhereError'
  }
}

/**
 * Holds an exclusive Web Lock named `name` until the returned release is called; undefined when
 * another tab holds it. One tab per account: two would write the same author chain at once.
 */
export async function exclusive(name: string): Promise<(() => void) | undefined> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks
  if (locks === undefined) return () => undefined
  let release: () => void = () => undefined
  const held = new Promise<void>((resolve) => (release = resolve))
  const granted = await new Promise<boolean>((answer) => {
    void locks.request(name, { ifAvailable: true }, async (lock) => {
      answer(lock !== null)
      if (lock !== null) await held
    })
  })
  return granted ? () => release() : undefined
}

/**
 * Resolves once the frame after `shown` has been painted (two animation frames), or `capMs` after
 * `shown` at the latest (a hidden tab runs no animation frames), and then the page is idle (or
 * `idleMs` later): what follows the first paint (the other rooms, the node) must not compete with
 * the list's layout passes. `idleMs` after the call when `shown` never comes (no room open, a
 * screen other than the chat).
 */
export function afterFirstPaint(
  shown: Promise<void>,
  idleMs = 1_000,
  capMs = 1_000,
): Promise<void> {
  const g = globalThis as {
    requestAnimationFrame?: typeof requestAnimationFrame
    requestIdleCallback?: typeof requestIdleCallback
  }
  const frame = g.requestAnimationFrame
  const idle = (resolve: () => void): void => {
    if (g.requestIdleCallback === undefined) setTimeout(resolve, 0)
    else g.requestIdleCallback(() => resolve(), { timeout: idleMs / 2 })
  }
  const painted = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const drawn = new Promise<void>((r) => {
        setTimeout(r, capMs)
        if (frame === undefined) setTimeout(r, 0)
        else frame(() => frame(() => r()))
      })
      void drawn.then(() => idle(resolve))
    })
  const never = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), idleMs))
  return Promise.race([shown.then(() => true), never]).then((came) =>
    came ? painted() : undefined,
  )
}
