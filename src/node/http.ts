/**
 * The peer's one web port: serves the web app (dist/), answers `/api/info` (how a browser reaches
 * this peer), carries libp2p WebSocket connections (upgrades are piped to the libp2p listener on
 * loopback), and serves the operator's control API (`/api/ctl/*`, loopback only, with the token
 * from the data directory).
 *
 * With `tls` the port speaks HTTPS/WSS and plain HTTP at once, told apart by the first byte of
 * each connection (0x16 opens a TLS handshake). Plain HTTP serves everything as before to this
 * machine itself (`http://localhost` is a secure context, and the CLI's control API uses it); to
 * anyone else it answers with the page that says how to trust the CA ({@link trustPage}), and
 * `/ca.crt`.
 */
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import {
  connect,
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net'
import type { Duplex } from 'node:stream'
import { createReadStream, existsSync, statSync } from 'node:fs'
import { extname, join, normalize, resolve } from 'node:path'
import { timingSafeEqual } from 'node:crypto'
import { safeHost, trustPage } from './trust-page.ts'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
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
  /** `/api/info`; `local`: the page was opened on this machine ({@link isLocalRequest}). */
  info: (local: boolean) => unknown
  /** Public JSON answers under `/api/` other than info and ctl (undefined: not found). */
  api?: (path: string, query: URLSearchParams) => unknown
  controlToken: string
  control: ControlHandler
  /** Serve HTTPS/WSS with this key and certificate (plain HTTP too, see above). */
  tls?: WebTls
}

export interface WebTls {
  key: string
  cert: string
  /** PEM of the CA colleagues trust, served as `/ca.crt`; undefined for an operator's own. */
  caPem: string | undefined
  caFingerprint: string | undefined
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

/** A request from this machine to a loopback name: a secure context even over plain HTTP. */
export function isLocalRequest(req: IncomingMessage): boolean {
  const host = safeHost(req.headers.host)
  return (
    isLoopback(req.socket.remoteAddress) &&
    (host === 'localhost' || host === '[::1]' || (host?.startsWith('127.') ?? false))
  )
}

function serveCa(tls: WebTls | undefined, res: ServerResponse): void {
  if (tls?.caPem === undefined)
    return sendJson(res, 404, { error: 'this peer uses a certificate from its operator' })
  res.writeHead(200, {
    'content-type': 'application/x-x509-ca-cert',
    'content-disposition': 'attachment; filename="parley-ca.crt"',
    'cache-control': 'no-cache',
  })
  res.end(tls.caPem)
}

/** Plain HTTP from another machine: the trust page, the CA, and nothing else. */
function plainHandler(
  tls: () => WebTls | undefined,
  port: () => number,
  full: RequestListener,
): RequestListener {
  return (req, res) => {
    if (isLocalRequest(req)) return full(req, res)
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/ca.crt') return serveCa(tls(), res)
    const host = safeHost(req.headers.host) ?? 'localhost'
    const target = `https://${host}:${port()}${url.pathname}`
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    res.end(trustPage({ httpsUrl: target, fingerprint: tls()?.caFingerprint }))
  }
}

/** One TCP port for both: each connection goes to `secure` or `plain` by its first byte. */
function sniffingServer(secure: HttpsServer, plain: Server): NetServer {
  // noDelay: Nagle's algorithm off, as `http.createServer` does by default. With it on, a small
  // write (a relayed message) behind one the browser has not yet acknowledged waited for its
  // delayed ACK: ~40 ms on the relayed browser → browser path (docs/benchmarks.md).
  return createNetServer({ noDelay: true }, (socket) => {
    socket.once('data', (chunk: Buffer) => {
      socket.pause()
      socket.unshift(chunk)
      ;(chunk[0] === 0x16 ? secure : plain).emit('connection', socket)
      process.nextTick(() => socket.resume())
    })
    socket.on('error', () => socket.destroy())
  })
}

export interface WebServer {
  port: number
  /** Serves new connections with another key and certificate (addresses changed, say). */
  setTls(tls: WebTls): void
  close(): Promise<void>
}

export async function startWebServer(init: WebServerInit): Promise<WebServer> {
  let tls = init.tls
  const sockets = new Set<Socket>()
  const handler: RequestListener = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/api/info') return sendJson(res, 200, init.info(isLocalRequest(req)))
    if (url.pathname === '/ca.crt') return serveCa(tls, res)
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
    if (url.pathname.startsWith('/api/')) {
      const body = init.api?.(url.pathname.slice('/api/'.length), url.searchParams)
      return body === undefined
        ? sendJson(res, 404, { error: 'not found' })
        : sendJson(res, 200, body)
    }
    serveStatic(init.appDir, url.pathname, res)
  }
  let port = 0
  const plain = createServer(
    tls === undefined
      ? handler
      : plainHandler(
          () => tls ?? init.tls!,
          () => port,
          handler,
        ),
  )
  const secure =
    tls === undefined ? undefined : createHttpsServer({ key: tls.key, cert: tls.cert }, handler)
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void =>
    pipeUpgrade(init, req, socket, head)
  secure?.on('upgrade', upgrade)
  // Plain WebSocket only from this machine: a LAN page over http gets the trust page instead.
  plain.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (tls === undefined || isLocalRequest(req)) return upgrade(req, socket, head)
    socket.destroy()
  })
  const front: NetServer | Server = secure === undefined ? plain : sniffingServer(secure, plain)
  // Upgraded (WebSocket) connections are no longer the HTTP server's: close them ourselves.
  front.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((res, rej) => {
    front.once('error', rej)
    front.listen(init.port, init.host, () => res())
  })
  port = (front.address() as AddressInfo).port
  return {
    port,
    setTls(next) {
      tls = next
      secure?.setSecureContext({ key: next.key, cert: next.cert })
    },
    close: () =>
      new Promise<void>((res) => {
        front.close(() => res())
        for (const socket of sockets) socket.destroy()
      }),
  }
}

/** libp2p over WebSocket: hands the raw upgrade to the libp2p listener on loopback. */
function pipeUpgrade(
  init: WebServerInit,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  const port = init.wsPort()
  if (port === undefined) {
    socket.destroy()
    return
  }
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
}
