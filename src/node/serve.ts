/** `parley serve`: the always-on peer with its web port. */
import { randomBytes } from 'node:crypto'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startPeer } from './peer.ts'
import { startWebServer } from './http.ts'
import { controlHandler, writeControlInfo } from './control.ts'
import type { CliOptions } from './options.ts'

const APP_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist')

/** Resolves when the process is asked to stop. */
function untilSignal(): Promise<string> {
  return new Promise((res) => {
    const on = (sig: string) => () => res(sig)
    process.once('SIGINT', on('SIGINT'))
    process.once('SIGTERM', on('SIGTERM'))
  })
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
  let web: Awaited<ReturnType<typeof startWebServer>>
  try {
    web = await startWebServer({
      port: o.port,
      host: o.host,
      appDir: APP_DIR,
      wsPort,
      info: () => ({ peerId: messenger.net.peerId }),
      controlToken: token,
      control: controlHandler(messenger),
    })
  } catch (err) {
    await peer.stop()
    throw new Error(`cannot listen on ${o.host}:${o.port}: ${(err as Error).message}`, {
      cause: err,
    })
  }
  const removeControl = writeControlInfo(o.data, { pid: process.pid, port: web.port, token })
  const addrs = messenger.net.addresses().filter((a) => !a.includes('/ws/'))
  process.stdout.write(
    [
      `Parley peer ${messenger.net.peerId}`,
      `data directory: ${o.data}`,
      `web app: http://${o.host === '0.0.0.0' ? 'localhost' : o.host}:${web.port}/`,
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
  await web.close()
  await peer.stop()
  return 0
}
