/**
 * A small LAN for browser tests: network namespaces joined by veth pairs (created here, removed
 * in `remove()`, also after a failure), and Debian's Chromium run inside one of them with the
 * organisation's CA trusted the way a person would trust it (imported into the NSS database of
 * a fresh home directory; Chromium on Linux reads `$HOME/.pki/nssdb`). playwright-core drives it
 * over `--remote-debugging-pipe`, so the driver stays in the host namespace: the launch goes
 * through a two-line wrapper script that runs `ip netns exec NS chromium …`.
 * Needs root, iproute2 and certutil (libnss3-tools); `.ci/run` installs them.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Why this machine cannot run namespace tests, if it cannot. */
export function netnsUnsupported(): string | undefined {
  if (process.getuid?.() !== 0)
    return 'needs root to create network namespaces (CI runs as root): run it with sudo'
  for (const [cmd, pkg] of [
    ['ip', 'iproute2'],
    ['certutil', 'libnss3-tools'],
  ] as const) {
    const v = spawnSync(cmd, cmd === 'ip' ? ['-V'] : ['-H'], { encoding: 'utf8' })
    if (v.error !== undefined)
      return `needs \`${cmd}\` (apt-get install ${pkg}; .ci/run installs it)`
  }
  return undefined
}

export interface Lan {
  /** Namespace names by role. */
  ns: Record<string, string>
  /** Each PC's address, and the hub's address on that PC's segment (its gateway). */
  addr: Record<string, string>
  gateway: Record<string, string>
  /** Gives `role` a default route via its gateway (Chromium gathers ICE candidates only then). */
  defaultRoute(role: string): void
  remove(): void
}

/**
 * A hub namespace (the Node peer) and PCs on LAN segments: segment i is 10.<subnet>.<i+1>.0/24,
 * the hub is .1 on a bridge of its own, PCs are .2, .3, …, one veth pair each. The hub does not
 * forward, so PCs on different segments reach the hub but not each other. Names carry the pid
 * and random bytes; every interface is created inside the namespaces, never on the host.
 */
export function createLan(hub: string, segments: string[][], subnet = 78): Lan {
  const tag = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`
  const ns: Record<string, string> = { [hub]: `parley-${hub.slice(0, 4)}-${tag}` }
  const addr: Record<string, string> = {}
  const gateway: Record<string, string> = {}
  segments.forEach((pcs, i) =>
    pcs.forEach((pc, j) => {
      ns[pc] = `parley-${pc.slice(0, 4)}-${tag}`
      addr[pc] = `10.${subnet}.${i + 1}.${j + 2}`
      gateway[pc] = `10.${subnet}.${i + 1}.1`
    }),
  )
  const remove = (): void => {
    for (const n of Object.values(ns)) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' })
  }
  try {
    for (const n of Object.values(ns)) {
      ip('netns', 'add', n)
      ip('-n', n, 'link', 'set', 'lo', 'up')
    }
    const h = ns[hub]!
    segments.forEach((pcs, i) => {
      // Interface names are at most 15 bytes.
      const br = `b${i}${tag}`.slice(0, 15)
      ip('-n', h, 'link', 'add', br, 'type', 'bridge')
      ip('-n', h, 'addr', 'add', `10.${subnet}.${i + 1}.1/24`, 'dev', br)
      ip('-n', h, 'link', 'set', br, 'up')
      pcs.forEach((pc, j) => {
        const inHub = `h${i}${j}${tag}`.slice(0, 15)
        const inPc = `p${i}${j}${tag}`.slice(0, 15)
        ip('link', 'add', inHub, 'netns', h, 'type', 'veth', 'peer', 'name', inPc, 'netns', ns[pc]!)
        ip('-n', h, 'link', 'set', inHub, 'master', br)
        ip('-n', h, 'link', 'set', inHub, 'up')
        ip('-n', ns[pc]!, 'addr', 'add', `${addr[pc]}/24`, 'dev', inPc)
        ip('-n', ns[pc]!, 'link', 'set', inPc, 'up')
      })
    })
  } catch (err) {
    remove()
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? ''
    throw new Error(`could not create the test network: ${(err as Error).message} ${stderr}`, {
      cause: err,
    })
  }
  return {
    ns,
    addr,
    gateway,
    defaultRoute: (pc) => ip('-n', ns[pc]!, 'route', 'replace', 'default', 'via', gateway[pc]!),
    remove,
  }
}

/** Whether a UDP datagram from `from`'s namespace reaches `to`'s address (a 2 s wait). */
export async function udpReaches(lan: Lan, from: string, to: string): Promise<boolean> {
  const port = 20_000 + Math.floor(Math.random() * 10_000)
  const listen =
    `const s=require('dgram').createSocket('udp4');s.on('message',()=>process.exit(0));` +
    `s.bind(${port},()=>process.stdout.write('ready'));setTimeout(()=>process.exit(1),2000)`
  const child = spawn('ip', ['netns', 'exec', lan.ns[to]!, process.execPath, '-e', listen], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const exited = new Promise<number | null>((r) => child.once('exit', r))
  await new Promise((r) => child.stdout.once('data', r))
  const send =
    `const s=require('dgram').createSocket('udp4');` +
    `s.send('x',${port},'${lan.addr[to]}',()=>s.close())`
  execFileSync('ip', ['netns', 'exec', lan.ns[from]!, process.execPath, '-e', send])
  return (await exited) === 0
}

export interface NsChromium {
  browser: Browser
  stop(): Promise<void>
}

/** Chromium inside namespace `ns`, with a fresh profile and home that trusts `caPem`. */
export async function launchChromiumIn(ns: string, caPem: string): Promise<NsChromium> {
  const home = mkdtempSync(join(tmpdir(), 'parley-chromium-'))
  try {
    const db = `sql:${join(home, '.pki', 'nssdb')}`
    mkdirSync(join(home, '.pki', 'nssdb'), { recursive: true })
    writeFileSync(join(home, 'ca.crt'), caPem)
    execFileSync('certutil', ['-d', db, '-N', '--empty-password'], { stdio: 'pipe' })
    // C: a trusted CA for websites.
    execFileSync(
      'certutil',
      ['-d', db, '-A', '-t', 'C,,', '-n', 'parley-ca', '-i', join(home, 'ca.crt')],
      {
        stdio: 'pipe',
      },
    )
    const wrapper = join(home, 'chromium-in-netns')
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} /usr/bin/chromium "$@"\n`)
    chmodSync(wrapper, 0o755)
    const browser = await chromium.launch({
      executablePath: wrapper,
      args: CHROMIUM_FLAGS,
      env: { ...process.env, HOME: home },
    })
    return {
      browser,
      async stop() {
        try {
          await browser.close()
        } finally {
          rmSync(home, { recursive: true, force: true })
        }
      },
    }
  } catch (err) {
    rmSync(home, { recursive: true, force: true })
    throw err
  }
}
