/**
 * The web port's TLS: the organisation's CA and server certificate made on first run, kept, and
 * reissued when a name is missing; an operator's own certificate; one port that answers HTTPS,
 * WSS, and plain HTTP (the app for this machine, the trust page and /ca.crt for anyone else).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { X509Certificate } from 'node:crypto'
import { request as httpsRequest } from 'node:https'
import { request as httpRequest, createServer, type IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { loadTls, namesOf, staleReason } from '../../src/node/tls.ts'
import { startWebServer, type WebServer } from '../../src/node/http.ts'
import { safeHost } from '../../src/node/trust-page.ts'

const dirs: string[] = []
const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of closers.splice(0)) await c()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'parley-tls-'))
  dirs.push(d)
  return d
}
const NAMES = ['localhost', '127.0.0.1', '::1', 'office-pc', '10.9.8.7']

describe('certificates', () => {
  it('[TLS1] first run makes a CA and a server certificate for every name; keys are 0600', async () => {
    const dir = tmp()
    const t = await loadTls({ dataDir: dir, names: NAMES, org: 'acme' })
    expect(t.source).toBe('generated')
    expect(t.renewed).toBe('first run')
    for (const f of ['ca.key', 'server.key'])
      expect(statSync(join(dir, 'tls', f)).mode & 0o777).toBe(0o600)
    const ca = new X509Certificate(readFileSync(join(dir, 'tls', 'ca.crt')))
    const server = new X509Certificate(readFileSync(join(dir, 'tls', 'server.crt')))
    expect(ca.ca).toBe(true)
    expect(ca.subject).toContain('Parley CA (acme)')
    expect(server.ca).toBe(false)
    expect(server.verify(ca.publicKey)).toBe(true)
    expect(server.checkIssued(ca)).toBe(true)
    expect(Date.parse(ca.validTo) - Date.now()).toBeGreaterThan(9.9 * 365 * 86_400_000)
    expect(server.subjectAltName).toContain('DNS:office-pc')
    expect(server.subjectAltName).toContain('IP Address:10.9.8.7')
    expect(namesOf(server)).toContain('0:0:0:0:0:0:0:1')
    expect(t.ca?.fingerprint).toBe(ca.fingerprint256)
    expect(staleReason(server.toString(), ca.toString(), NAMES)).toBeUndefined()
  })

  it('[TLS2] a restart keeps both; a new address reissues the server certificate, never the CA', async () => {
    const dir = tmp()
    const first = await loadTls({ dataDir: dir, names: NAMES })
    const again = await loadTls({ dataDir: dir, names: NAMES })
    expect(again.renewed).toBeUndefined()
    expect(again.cert).toBe(first.cert)
    const moved = await loadTls({ dataDir: dir, names: [...NAMES, '192.168.50.4'] })
    expect(moved.renewed).toBe('does not cover 192.168.50.4')
    expect(moved.ca?.fingerprint).toBe(first.ca?.fingerprint)
    expect(moved.names).toContain('192.168.50.4')
    expect(moved.key).not.toBe(first.key)
  })

  it('[TLS3] a CA copied from another peer is used as it is', async () => {
    const a = tmp()
    const b = tmp()
    const ta = await loadTls({ dataDir: a, names: NAMES })
    mkdirSync(join(b, 'tls'))
    for (const f of ['ca.crt', 'ca.key'])
      writeFileSync(join(b, 'tls', f), readFileSync(join(a, 'tls', f)))
    const tb = await loadTls({ dataDir: b, names: NAMES })
    expect(tb.ca?.fingerprint).toBe(ta.ca?.fingerprint)
    expect(tb.cert).not.toBe(ta.cert)
  })

  it("[TLS4] an operator's certificate and key are used as they are; a bad key fails at once", async () => {
    const ours = await loadTls({ dataDir: tmp(), names: NAMES })
    const dir = tmp()
    writeFileSync(join(dir, 'c.pem'), ours.cert)
    writeFileSync(join(dir, 'k.pem'), ours.key)
    const t = await loadTls({
      dataDir: dir,
      certFile: join(dir, 'c.pem'),
      keyFile: join(dir, 'k.pem'),
    })
    expect(t.source).toBe('operator')
    expect(t.ca).toBeUndefined()
    expect(t.names).toContain('office-pc')
    writeFileSync(join(dir, 'bad.pem'), 'not a key')
    await expect(
      loadTls({ dataDir: dir, certFile: join(dir, 'c.pem'), keyFile: join(dir, 'bad.pem') }),
    ).rejects.toThrow()
  })

  it('[TLS5] safeHost takes host names and addresses, nothing with markup', () => {
    expect(safeHost('10.0.0.5:4040')).toBe('10.0.0.5')
    expect(safeHost('office-pc.local')).toBe('office-pc.local')
    expect(safeHost('[fd00::2]:4040')).toBe('[fd00::2]')
    expect(safeHost('"><script>:1')).toBeUndefined()
    expect(safeHost(undefined)).toBeUndefined()
  })
})

interface Got {
  status: number
  type: string
  body: string
}

function get(url: string, init: { ca?: string; host?: string } = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const opts = {
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      headers: init.host === undefined ? {} : { host: init.host },
      ...(init.ca === undefined ? {} : { ca: init.ca }),
    }
    const done = (res: IncomingMessage): void => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body }),
      )
    }
    const req = u.protocol === 'https:' ? httpsRequest(opts, done) : httpRequest(opts, done)
    req.on('error', reject)
    req.end()
  })
}

describe('the web port with TLS', () => {
  async function start(): Promise<{ web: WebServer; ca: string; appDir: string; echo: number }> {
    const dir = tmp()
    const tls = await loadTls({ dataDir: dir, names: NAMES })
    const appDir = join(dir, 'app')
    mkdirSync(appDir)
    writeFileSync(join(appDir, 'index.html'), '<title>the app</title>')
    // Stands in for libp2p's WebSocket listener: echoes every message.
    const echoServer = createServer()
    const { WebSocketServer } = await import('ws')
    const wss = new WebSocketServer({ server: echoServer })
    wss.on('connection', (s) => s.on('message', (m) => s.send(m)))
    await new Promise<void>((r) => echoServer.listen(0, '127.0.0.1', r))
    const echo = (echoServer.address() as AddressInfo).port
    const web = await startWebServer({
      port: 0,
      host: '127.0.0.1',
      appDir,
      wsPort: () => echo,
      info: () => ({ peerId: 'me' }),
      controlToken: 'secret',
      control: async (_req, res) => void res.end('control'),
      tls: { key: tls.key, cert: tls.cert, caPem: tls.ca?.pem, caFingerprint: tls.ca?.fingerprint },
    })
    closers.push(async () => {
      await web.close()
      wss.close()
      await new Promise<void>((r) => echoServer.close(() => r()))
    })
    return { web, ca: tls.ca?.pem ?? '', appDir, echo }
  }

  it('[TLS6] https with a certificate that verifies against the CA; plain http from this machine gets the app', async () => {
    const { web, ca } = await start()
    const s = await get(`https://127.0.0.1:${web.port}/`, { ca })
    expect(s.status).toBe(200)
    expect(s.body).toContain('the app')
    expect(JSON.parse((await get(`https://127.0.0.1:${web.port}/api/info`, { ca })).body)).toEqual({
      peerId: 'me',
    })
    const plain = await get(`http://127.0.0.1:${web.port}/`)
    expect(plain.body).toContain('the app')
    await expect(get(`https://127.0.0.1:${web.port}/`)).rejects.toThrow(/self.signed|certificate/i)
  })

  it('[TLS7] plain http by a LAN name gets the trust page (fingerprint, /ca.crt, the https address)', async () => {
    const { web, ca } = await start()
    const page = await get(`http://127.0.0.1:${web.port}/`, { host: `10.9.8.7:${web.port}` })
    expect(page.status).toBe(200)
    expect(page.type).toContain('text/html')
    expect(page.body).toContain('data-testid="trust-page"')
    expect(page.body).toContain(`https://10.9.8.7:${web.port}/`)
    expect(page.body).toContain(new X509Certificate(ca).fingerprint256)
    expect(page.body).not.toContain('the app')
    const crt = await get(`http://127.0.0.1:${web.port}/ca.crt`, { host: `10.9.8.7:${web.port}` })
    expect(crt.type).toBe('application/x-x509-ca-cert')
    expect(crt.body).toBe(ca)
    const info = await get(`http://127.0.0.1:${web.port}/api/info`, { host: 'office-pc' })
    expect(info.body).toContain('trust-page')
  })

  it('[TLS8] WSS upgrades reach the loopback listener; plain ws only from this machine', async () => {
    const { web, ca } = await start()
    const roundTrip = (url: string, headers: Record<string, string> = {}): Promise<string> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url, { ca, headers })
        ws.on('open', () => ws.send('ping'))
        ws.on('message', (m: Buffer) => {
          resolve(m.toString())
          ws.close()
        })
        ws.on('error', reject)
      })
    expect(await roundTrip(`wss://127.0.0.1:${web.port}/`)).toBe('ping')
    expect(await roundTrip(`ws://127.0.0.1:${web.port}/`)).toBe('ping')
    await expect(roundTrip(`ws://127.0.0.1:${web.port}/`, { host: '10.9.8.7' })).rejects.toThrow()
  })
})
