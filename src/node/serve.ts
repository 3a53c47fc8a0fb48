/** `parley serve`: the always-on peer with its web port. */
import { randomBytes } from 'node:crypto'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startPeer } from './peer.ts'
import { startWebServer, type WebServer, type WebTls } from './http.ts'
import { loadTls, machineNames, type TlsMaterial } from './tls.ts'
import { controlHandler, writeControlInfo } from './control.ts'
import type { CliOptions } from './options.ts'
import { inviteStatus, orgPublicInfo, setupInvite } from './org-web.ts'

/** The name of an organisation a first `serve` makes without `--org NAME`. */
export const DEFAULT_ORG_NAME = 'Parley'

const APP_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist')

/** Resolves when the process is asked to stop. */
function untilSignal(): Promise<string> {
  return new Promise((res) => {
    const on = (sig: string) => () => res(sig)
    process.once('SIGINT', on('SIGINT'))
    process.once('SIGTERM', on('SIGTERM'))
  })
}

const webTls = (t: TlsMaterial): WebTls => ({
  key: t.key,
  cert: t.cert,
  caPem: t.ca?.pem,
  caFingerprint: t.ca?.fingerprint,
})

/** Addresses come and go (DHCP, a laptop's Wi-Fi): check every minute, reissue when one is new. */
const RECHECK_MS = 60_000

function watchAddresses(o: CliOptions, tls: TlsMaterial, web: WebServer): () => void {
  let busy = false
  const timer = setInterval(() => {
    if (busy || tls.source !== 'generated') return
    const missing = machineNames().filter((n) => !tls.names.includes(n))
    if (missing.length === 0) return
    busy = true
    loadTls({ dataDir: o.data })
      .then((next) => {
        tls = next
        web.setTls(webTls(next))
        if (next.renewed !== undefined)
          process.stdout.write(`certificate renewed: ${next.renewed}\n`)
      })
      .catch((err: unknown) =>
        process.stderr.write(`parley: cannot renew the certificate: ${(err as Error).message}\n`),
      )
      .finally(() => (busy = false))
  }, RECHECK_MS)
  timer.unref()
  return () => clearInterval(timer)
}

/** The https addresses colleagues open: this machine's LAN addresses and name, or `host`. */
function httpsUrls(o: CliOptions, port: number, tls: TlsMaterial): string[] {
  const wild = o.host === '0.0.0.0' || o.host === '::'
  const hosts = wild
    ? tls.names.filter((n) => n !== 'localhost' && !n.startsWith('127.') && !n.includes(':'))
    : [o.host]
  return (hosts.length > 0 ? hosts : ['localhost']).map((h) => `https://${h}:${port}/`)
}

export async function serve(o: CliOptions): Promise<number> {
  const tcpPort = o.tcpPort ?? (o.port === 0 ? 0 : o.port + 1)
  const peer = await startPeer({
    dataDir: o.data,
    listen: [`/ip4/${o.host}/tcp/${tcpPort}`, '/ip4/127.0.0.1/tcp/0/ws'],
    mdns: o.mdns,
    peers: o.peers,
    retainAll: true,
    ...(o.name === undefined ? {} : { name: o.name }),
    ...(o.fileQuota === undefined ? {} : { fileQuota: o.fileQuota }),
    ...(o.bulkPort === undefined ? {} : { bulkPort: o.bulkPort }),
    // The first run on a fresh directory makes the organisation (its root key stays here).
    createOrg: o.org ?? DEFAULT_ORG_NAME,
  })
  const { messenger } = peer
  const wsPort = (): number | undefined => {
    for (const a of messenger.net.addresses()) {
      const m = /\/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/ws\//.exec(a)
      if (m !== null) return Number(m[1])
    }
    return undefined
  }
  const token = randomBytes(24).toString('base64url')
  let tls: TlsMaterial
  try {
    // After startPeer took the data directory's lock: only one process writes tls/.
    tls = await loadTls({
      dataDir: o.data,
      ...(o.cert === undefined ? {} : { certFile: o.cert }),
      ...(o.key === undefined ? {} : { keyFile: o.key }),
    })
  } catch (err) {
    await peer.stop()
    throw new Error(`cannot use the TLS certificate: ${(err as Error).message}`, { cause: err })
  }
  // While the org has no admin, the first sign-up redeems this admin invitation (docs/security.md).
  const setup =
    peer.org === undefined
      ? undefined
      : await setupInvite(
          peer.org,
          peer.store,
          messenger.net.addresses().filter((a) => !a.includes('/ws/')),
        )
  let web: WebServer
  try {
    web = await startWebServer({
      port: o.port,
      host: o.host,
      appDir: APP_DIR,
      wsPort,
      info: (local) => ({
        peerId: messenger.net.peerId,
        ...(peer.org === undefined ? {} : { org: orgPublicInfo(peer.org, setup, local) }),
      }),
      api: (path, query) =>
        path === 'invite' && peer.org !== undefined ? inviteStatus(peer.org, query) : undefined,
      controlToken: token,
      control: controlHandler(messenger, {
        org: peer.org,
        addrs: () => messenger.net.addresses().filter((a) => !a.includes('/ws/')),
        webUrls: () => httpsUrls(o, web.port, tls),
      }),
      tls: webTls(tls),
    })
  } catch (err) {
    await peer.stop()
    throw new Error(`cannot listen on ${o.host}:${o.port}: ${(err as Error).message}`, {
      cause: err,
    })
  }
  const removeControl = writeControlInfo(o.data, { pid: process.pid, port: web.port, token })
  const stopWatching = watchAddresses(o, tls, web)
  const addrs = messenger.net.addresses().filter((a) => !a.includes('/ws/'))
  const local = o.host === '0.0.0.0' || o.host === '::' ? 'localhost' : o.host
  process.stdout.write(
    [
      `Parley peer ${messenger.net.peerId}`,
      peer.org === undefined
        ? 'organisation: none'
        : `organisation: ${peer.org.name} (id ${peer.org.orgId})`,
      ...createdNotice(peer.created),
      `data directory: ${o.data}`,
      `web app: http://${local}:${web.port}/ (on this machine)`,
      ...httpsUrls(o, web.port, tls).map((u) => `web app over https: ${u}`),
      ...(tls.ca === undefined
        ? [`certificate: ${o.cert ?? ''} (from the operator)`]
        : [
            `CA certificate: ${tls.ca.path} (also at /ca.crt; colleagues trust it once)`,
            `CA fingerprint (SHA-256): ${tls.ca.fingerprint}`,
          ]),
      ...(tls.renewed === undefined ? [] : [`certificate made: ${tls.renewed}`]),
      ...(setup === undefined
        ? []
        : [
            `first admin: the first account made at http://${local}:${web.port}/ on this machine becomes the organisation's admin`,
            ...httpsUrls(o, web.port, tls).map(
              (u) => `first admin link (single use): ${u.replace(/\/$/, '')}/#invite=${setup}`,
            ),
          ]),
      `web port: ${web.port}`,
      ...addrs.map((a) => `listening: ${a}`),
      `mDNS: ${o.mdns ? 'on' : 'off'}`,
      'ready',
      '',
    ].join('\n'),
  )
  const sig = await untilSignal()
  process.stdout.write(`${sig}: stopping\n`)
  removeControl()
  stopWatching()
  await web.close()
  await peer.stop()
  return 0
}

/**
 * What the operator is told when this run made the organisation: that it did, and — on a data
 * directory with history from before organisations — what happens to that history and to the
 * browser accounts made then (README, "Upgrading a data directory from before organisations").
 */
export function createdNotice(created: { priorRooms: number } | undefined): string[] {
  if (created === undefined) return []
  if (created.priorRooms === 0)
    return ['organisation created: its root key is kept in this data directory']
  return [
    `organisation created on a data directory with history from before organisations (${created.priorRooms} room${created.priorRooms === 1 ? '' : 's'}): its root key is kept here`,
    'old history: kept on disk and readable here (parley read), but members refuse entries by authors without a certificate, so they will not see it',
    "old browser accounts: cannot connect any more (no certificate); sign up again — the first account made on this machine becomes the organisation's admin, everyone else with an invitation",
  ]
}
