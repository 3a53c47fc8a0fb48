/**
 * The web port's certificate. On first run on a data directory `parley serve` makes the
 * organisation's own CA (an ECDSA P-256 key and a self-signed CA certificate valid 10 years) and a
 * server certificate signed by it for this machine's host names and IP addresses, all kept in
 * `<data>/tls/` (keys mode 0600). The server certificate is made again when an address or name is
 * missing from it, when it expires within 30 days, or when the CA changed; the CA never is. Copy
 * `tls/ca.crt` and `tls/ca.key` into another peer's data directory before its first start and both
 * peers share one CA: colleagues trust it once. An operator can supply a certificate and key of its
 * own instead (`--cert`, `--key`).
 *
 * Node 20 can verify X.509 but not issue it: `@peculiar/x509` (pure TypeScript over WebCrypto, the
 * library `@libp2p/webrtc` uses for its own certificates) builds them.
 */
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto'
import { hostname, networkInterfaces } from 'node:os'
import { join } from 'node:path'

x509.cryptoProvider.set(webcrypto as unknown as Crypto)

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const DAY = 86_400_000
const CA_DAYS = 3653
/** Below Apple's 825-day limit for server certificates, which applies to private CAs too. */
const SERVER_DAYS = 397
const RENEW_DAYS = 30

/** What the web port serves with. */
export interface TlsMaterial {
  /** PEM private key of the server certificate. */
  key: string
  /** PEM server certificate, followed by the CA's when we made it. */
  cert: string
  /** The CA that colleagues trust; undefined for an operator's own certificate. */
  ca: { pem: string; fingerprint: string; path: string } | undefined
  /** DNS names and IP addresses the server certificate covers. */
  names: string[]
  source: 'generated' | 'operator'
  /** Why a new server certificate was written at this load, if one was. */
  renewed?: string
}

/** Host names and addresses a colleague may use to reach this machine. */
export function machineNames(): string[] {
  const host = hostname()
  const names = new Set(['localhost', '127.0.0.1', '::1', host])
  if (!host.includes('.')) names.add(`${host}.local`)
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      // Link-local IPv6 needs a zone id in a URL: no browser reaches a page by it.
      if (a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:')) continue
      names.add(a.address)
    }
  }
  return [...names]
}

const isIp = (name: string): boolean => /^[\d.]+$/.test(name) || name.includes(':')

/** The names a certificate covers, from its subjectAltName (`DNS:x, IP Address:y`). */
export function namesOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ''))
    .filter((n) => n !== '')
    .map((n) => (n.includes(':') ? normalizeIpv6(n) : n))
}

/** `0:0:0:0:0:0:0:1` (how Node prints a SAN) and `::1` compare equal. */
function normalizeIpv6(addr: string): string {
  const halves = addr.toLowerCase().split('::')
  const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':')
  const tail = halves.length > 1 && halves[1] !== '' ? (halves[1] ?? '').split(':') : []
  const zeros = halves.length > 1 ? Array<string>(8 - head.length - tail.length).fill('0') : []
  return [...head, ...zeros, ...tail].map((g) => g.replace(/^0+(?=.)/, '')).join(':')
}

async function pemKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key))
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString()
}

async function importKey(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' })
  return webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign'])
}

const serial = (): string => {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0] ?? 0) & 0x7f // positive
  return bytes.toString('hex')
}

function writeSecret(file: string, pem: string): void {
  writeFileSync(file, pem, { mode: 0o600 })
  chmodSync(file, 0o600)
}

async function makeCa(org: string): Promise<{ cert: string; key: string }> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])
  const now = Date.now()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=Parley CA (${org.replace(/[,=+<>#;\\"]/g, ' ')}), O=Parley`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + CA_DAYS * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  return { cert: cert.toString('pem'), key: await pemKey(keys.privateKey) }
}

async function makeServer(
  ca: { cert: string; key: string },
  names: string[],
): Promise<{ cert: string; key: string }> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])
  const caCert = new x509.X509Certificate(ca.cert)
  const now = Date.now()
  const first = names.find((n) => !isIp(n) && n !== 'localhost') ?? 'localhost'
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${first}`,
    issuer: caCert.subject,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + SERVER_DAYS * DAY),
    signingKey: await importKey(ca.key),
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((n) => ({ type: isIp(n) ? ('ip' as const) : ('dns' as const), value: n })),
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  return { cert: cert.toString('pem'), key: await pemKey(keys.privateKey) }
}

/** Why the server certificate at hand will not do, or undefined when it will. */
export function staleReason(
  serverPem: string,
  caPem: string,
  names: readonly string[],
  now = Date.now(),
): string | undefined {
  const server = new X509Certificate(serverPem)
  if (!server.verify(new X509Certificate(caPem).publicKey)) return 'not signed by the CA'
  if (Date.parse(server.validTo) - now < RENEW_DAYS * DAY) return 'expires soon'
  const have = new Set(namesOf(server))
  const missing = names.filter((n) => !have.has(n.includes(':') ? normalizeIpv6(n) : n))
  return missing.length > 0 ? `does not cover ${missing.join(', ')}` : undefined
}

export interface TlsInit {
  dataDir: string
  /** Names the server certificate must cover. @default {@link machineNames} */
  names?: string[]
  /** Who the CA belongs to, in its subject. @default this machine's host name */
  org?: string
  /** An operator's own PEM certificate (chain) and key files, used as they are. */
  certFile?: string
  keyFile?: string
}

/**
 * The web port's key and certificate: the operator's, or ours (CA and server certificate made or
 * renewed as needed). Returns `renewed` with why when it wrote a new server certificate.
 */
export async function loadTls(init: TlsInit): Promise<TlsMaterial> {
  if (init.certFile !== undefined || init.keyFile !== undefined) {
    if (init.certFile === undefined || init.keyFile === undefined)
      throw new Error('--cert and --key go together')
    const cert = readFileSync(init.certFile, 'utf8')
    const key = readFileSync(init.keyFile, 'utf8')
    createPrivateKey(key) // fail at start, not at the first handshake
    return {
      key,
      cert,
      ca: undefined,
      names: namesOf(new X509Certificate(cert)),
      source: 'operator',
    }
  }
  const dir = join(init.dataDir, 'tls')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const file = (name: string): string => join(dir, name)
  if (!existsSync(file('ca.crt')) || !existsSync(file('ca.key'))) {
    const ca = await makeCa(init.org ?? hostname())
    writeSecret(file('ca.key'), ca.key)
    writeFileSync(file('ca.crt'), ca.cert)
  }
  const ca = {
    cert: readFileSync(file('ca.crt'), 'utf8'),
    key: readFileSync(file('ca.key'), 'utf8'),
  }
  const names = init.names ?? machineNames()
  let renewed: string | undefined
  const haveServer = existsSync(file('server.crt')) && existsSync(file('server.key'))
  const why = haveServer
    ? staleReason(readFileSync(file('server.crt'), 'utf8'), ca.cert, names)
    : 'first run'
  if (why !== undefined) {
    const server = await makeServer(ca, names)
    writeSecret(file('server.key'), server.key)
    writeFileSync(file('server.crt'), server.cert)
    renewed = why
  }
  const serverCert = readFileSync(file('server.crt'), 'utf8')
  return {
    key: readFileSync(file('server.key'), 'utf8'),
    cert: serverCert.trimEnd() + '\n' + ca.cert,
    ca: {
      pem: ca.cert,
      fingerprint: new X509Certificate(ca.cert).fingerprint256,
      path: file('ca.crt'),
    },
    names: namesOf(new X509Certificate(serverCert)),
    source: 'generated',
    ...(renewed === undefined ? {} : { renewed }),
  }
}
