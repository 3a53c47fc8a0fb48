/**
 * Probes of a site's links from inside its hosts (each a short node program run in a host's
 * namespace): does UDP get through, and how long does a TCP round trip take.
 */
import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable } from 'node:stream'
import type { Site } from './site.ts'

/** The command line that runs the Node program `code` on host `i`. */
const nodeOn = (site: Site, i: number, code: string): string[] => [
  ...site.prefix(i).slice(1),
  process.execPath,
  '-e',
  code,
]

/** Starts the Node program `code` on host `i`; resolves once it has written its first output. */
async function serveOn(
  site: Site,
  i: number,
  code: string,
): Promise<ChildProcessByStdio<null, Readable, null>> {
  const child = spawn('ip', nodeOn(site, i, code), { stdio: ['ignore', 'pipe', 'ignore'] })
  await new Promise((r) => child.stdout.once('data', r))
  return child
}

/**
 * Whether UDP datagrams from host `from` reach host `to`: the listener waits until the sender
 * (three datagrams, 100 ms apart) is done, then 500 ms more. No fixed timeout on a busy machine.
 */
export async function udpReaches(site: Site, from: number, to: number): Promise<boolean> {
  const port = 20_000 + Math.floor(Math.random() * 10_000)
  const listen =
    `const s=require('dgram').createSocket('udp4');s.on('message',()=>process.exit(0));` +
    `s.bind(${port},()=>process.stdout.write('ready'));setTimeout(()=>process.exit(1),60000)`
  const child = await serveOn(site, to, listen)
  const exited = new Promise<number | null>((r) =>
    child.exitCode === null ? child.once('exit', r) : r(child.exitCode),
  )
  const send =
    `const s=require('dgram').createSocket('udp4');let n=0;` +
    `const go=()=>s.send('x',${port},'${site.addr(to)}',()=>++n<3?setTimeout(go,100):s.close());go()`
  execFileSync('ip', nodeOn(site, from, send))
  const timer = setTimeout(() => child.kill('SIGKILL'), 500)
  const code = await exited
  clearTimeout(timer)
  return code === 0
}

/**
 * The shortest of `rounds` TCP round trips (one byte echoed) from host `from` to host `to`, in ms,
 * on one connection. The shortest, because what a link adds is a floor: a busy machine only adds.
 */
export async function tcpRoundTripMs(
  site: Site,
  from: number,
  to: number,
  rounds = 10,
): Promise<number> {
  return Math.min(...(await tcpRoundTrips(site, from, to, rounds)))
}

/** `rounds` TCP round trips (one byte echoed, one after the other) from host `from` to `to`, in ms. */
export async function tcpRoundTrips(
  site: Site,
  from: number,
  to: number,
  rounds: number,
): Promise<number[]> {
  const port = 20_000 + Math.floor(Math.random() * 10_000)
  const echo =
    `const s=require('net').createServer(c=>c.pipe(c));` +
    `s.listen(${port},()=>process.stdout.write('ready'));setTimeout(()=>process.exit(1),60000)`
  const server = await serveOn(site, to, echo)
  try {
    const probe =
      `const c=require('net').connect(${port},'${site.addr(to)}');c.setNoDelay(true);` +
      `let t=0;const ms=[];const go=()=>{t=performance.now();c.write('x')};c.on('connect',go);` +
      `c.on('data',()=>{ms.push(performance.now()-t);if(ms.length<${rounds})go();` +
      `else{process.stdout.write(JSON.stringify(ms));c.destroy()}})`
    const out = execFileSync('ip', nodeOn(site, from, probe), { encoding: 'utf8', timeout: 60_000 })
    return JSON.parse(out) as number[]
  } finally {
    server.kill('SIGKILL')
  }
}
