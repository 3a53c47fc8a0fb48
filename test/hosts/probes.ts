/**
 * Probes of a site's links from inside its hosts (each a short node program run in a host's
 * namespace): does UDP get through, and how long does a TCP round trip take.
 */
import { execFileSync, spawn } from 'node:child_process'
import type { Site } from './site.ts'

/**
 * Whether UDP datagrams from host `from` reach host `to`: the listener waits until the sender
 * (three datagrams, 100 ms apart) is done, then 500 ms more. No fixed timeout on a busy machine.
 */
export async function udpReaches(site: Site, from: number, to: number): Promise<boolean> {
  const port = 20_000 + Math.floor(Math.random() * 10_000)
  const listen =
    `const s=require('dgram').createSocket('udp4');s.on('message',()=>process.exit(0));` +
    `s.bind(${port},()=>process.stdout.write('ready'));setTimeout(()=>process.exit(1),60000)`
  const child = spawn('ip', [...site.prefix(to).slice(1), process.execPath, '-e', listen], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const exited = new Promise<number | null>((r) => child.once('exit', r))
  await new Promise((r) => child.stdout.once('data', r))
  const send =
    `const s=require('dgram').createSocket('udp4');let n=0;` +
    `const go=()=>s.send('x',${port},'${site.addr(to)}',()=>++n<3?setTimeout(go,100):s.close());go()`
  execFileSync('ip', [...site.prefix(from).slice(1), process.execPath, '-e', send])
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
  const port = 20_000 + Math.floor(Math.random() * 10_000)
  const echo =
    `const s=require('net').createServer(c=>c.pipe(c));` +
    `s.listen(${port},()=>process.stdout.write('ready'));setTimeout(()=>process.exit(1),60000)`
  const server = spawn('ip', [...site.prefix(to).slice(1), process.execPath, '-e', echo], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  try {
    await new Promise((r) => server.stdout.once('data', r))
    const probe =
      `const c=require('net').connect(${port},'${site.addr(to)}');c.setNoDelay(true);` +
      `let n=0,t=0,min=Infinity;const go=()=>{t=performance.now();c.write('x')};c.on('connect',go);` +
      `c.on('data',()=>{min=Math.min(min,performance.now()-t);if(++n<${rounds})go();` +
      `else{process.stdout.write(String(min));c.destroy()}})`
    const out = execFileSync('ip', [...site.prefix(from).slice(1), process.execPath, '-e', probe], {
      encoding: 'utf8',
      timeout: 60_000,
    })
    return Number(out)
  } finally {
    server.kill('SIGKILL')
  }
}
