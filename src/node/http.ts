/**
 * The peer's one web port: serves the web app (dist/), answers `/api/info` (how a browser reaches
 * this peer), carries libp2p WebSocket connections (upgrades are piped to the libp2p listener on
 * loopback), and serves the operator's control API (`/api/ctl/*`, loopback only, with the token
 * from the data directory).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { createReadStream, existsSync, statSync } from 'node:fs'
import { extname, join, normalize, resolve } from 'node:path'
import { timingSafeEqual } from 'node:crypto'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
}

export type ControlHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
) => Promise<void>

export interface WebServerInit {
  port: number
  host: string
  /** Directory of the built web app; a short page explains how to build it when missing. */
  appDir: string
  /** Loopback port of the libp2p WebSocket listener that upgrades are piped to. */
  wsPort: () => number | undefined
  info: () => unknown
  controlToken: string
  control: ControlHandler
}

export function isLoopback(addr: string | undefined): boolean {
  return (
    addr !== undefined &&
    (addr.startsWith('127.') || addr === '::1' || addr.startsWith('::ffff:127.'))
  )
}

function tokenOk(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.replace(/^Bearer /, '') ?? '')
  const want = Buffer.from(token)
  return given.length === want.length && timingSafeEqual(given, want)
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

function serveStatic(appDir: string, path: string, res: ServerResponse): void {
  const root = resolve(appDir)
  let file = normalize(join(root, decodeURIComponent(path)))
  if (!file.startsWith(root)) return sendJson(res, 403, { error: 'forbidden' })
  if (!existsSync(file) || statSync(file).isDirectory()) file = join(root, 'index.html')
  if (!existsSync(file)) {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' })
    res.end(
      'The Parley web app is not built. Run `npm run build` (npm start does it), then reload.\n',
    )
    return
  }
  const immutable = file.includes(`${join(root, 'assets')}`)
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  })
  createReadStream(file).pipe(res)
}

export async function startWebServer(
  init: WebServerInit,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/api/info') return sendJson(res, 200, init.info())
    if (url.pathname.startsWith('/api/ctl/')) {
      if (
        !isLoopback(req.socket.remoteAddress) ||
        !tokenOk(req.headers.authorization, init.controlToken)
      ) {
        return sendJson(res, 403, {
          error: 'the control API answers only on loopback with the data directory token',
        })
      }
      init
        .control(req, res, url.pathname.slice('/api/ctl/'.length), url.searchParams)
        .catch((err: unknown) => {
          if (!res.headersSent)
            sendJson(res, 500, { error: (err as Error).message, name: (err as Error).name })
          else res.end()
        })
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return sendJson(res, 405, { error: 'method not allowed' })
    serveStatic(init.appDir, url.pathname, res)
  })
  // libp2p over WebSocket: hand the raw upgrade to the libp2p listener on loopback.
  server.on('upgrade', (req, socket, head) => {
    const port = init.wsPort()
    if (port === undefined) return socket.destroy()
    const upstream = connect(port, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`]
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
      upstream.write(lines.join('\r\n') + '\r\n\r\n')
      if (head.length > 0) upstream.write(head)
      socket.pipe(upstream).pipe(socket)
    })
    upstream.setNoDelay(true)
    ;(socket as Socket).setNoDelay?.(true)
    const end = (): void => {
      upstream.destroy()
      socket.destroy()
    }
    upstream.on('error', end)
    socket.on('error', end)
    upstream.on('close', end)
    socket.on('close', end)
  })
  await new Promise<void>((res, rej) => {
    server.once('error', rej)
    server.listen(init.port, init.host, () => res())
  })
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections()
        server.close(() => res())
      }),
  }
}
