/**
 * A TCP relay on 127.0.0.1 in front of a peer's listener, whose links the test can cut: `cut()`
 * resets every connection through it (RST both ways, as a dead link or an aborted connection
 * looks to libp2p), `stall()` stops relaying on the open ones and keeps them open (a cut TCP
 * drops silently; new connections are relayed as before), and `refuse` makes it drop new ones at once; `nextPeers` awaits the links coming back.
 * With `bytesPerSecond` each direction of each connection is paced to that rate, as a slow link is:
 * what is sent faster waits in the sockets' buffers.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import type { PeerNet } from '../../src/net/index.ts'

export interface CutProxy {
  /** `/ip4/127.0.0.1/tcp/<port>/p2p/<peer>`: dial this instead of the peer's own address. */
  addr: string
  /** Connections relayed so far. */
  readonly accepted: number
  /** Resets every open connection through the proxy. */
  cut(): void
  /** Stops relaying on every open connection, which stay open: nothing arrives either way. */
  stall(): void
  close(): Promise<void>
}

/** A proxy to `target` (`/ip4/127.0.0.1/tcp/<port>/p2p/<id>`). */
export async function cutProxy(
  target: string,
  opts: { bytesPerSecond?: number | undefined } = {},
): Promise<CutProxy> {
  const m = /^\/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/p2p\/(\w+)$/.exec(target)
  if (m === null) throw new Error(`not a loopback TCP address: ${target}`)
  const port = Number(m[1])
  const open = new Set<Socket>()
  let accepted = 0
  const held = new WeakSet<Socket>()
  const stalled = (s: Socket): boolean => held.has(s)
  const server: Server = createServer((inbound) => {
    accepted++
    const outbound = createConnection({ host: '127.0.0.1', port })
    for (const s of [inbound, outbound]) {
      open.add(s)
      s.on('close', () => open.delete(s))
      s.on('error', () => undefined)
    }
    relay(inbound, outbound, opts.bytesPerSecond, stalled)
    relay(outbound, inbound, opts.bytesPerSecond, stalled)
    inbound.on('close', () => outbound.destroy())
    outbound.on('close', () => inbound.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('proxy has no port')
  return {
    addr: `/ip4/127.0.0.1/tcp/${address.port}/p2p/${m[2]}`,
    get accepted() {
      return accepted
    },
    cut() {
      for (const s of [...open]) s.resetAndDestroy()
    },
    stall() {
      for (const s of [...open]) {
        held.add(s)
        s.unpipe()
        s.pause()
      }
    },
    async close() {
      for (const s of [...open]) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Relays `from` to `to`, at most `rate` bytes a second when given, until `from` is stalled. */
function relay(
  from: Socket,
  to: Socket,
  rate: number | undefined,
  stalled: (s: Socket) => boolean,
): void {
  if (rate === undefined) {
    from.pipe(to)
    return
  }
  from.on('data', (chunk: Buffer) => {
    if (stalled(from)) return
    to.write(chunk)
    from.pause()
    setTimeout(
      () => {
        if (!stalled(from)) from.resume()
      },
      (chunk.length / rate) * 1_000,
    )
  })
}

/** Resolves when `net`'s peer list next changes to one that passes `ok`. */
export function nextPeers(net: PeerNet, ok: (peers: readonly string[]) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const off = net.onPeers((peers) => {
      if (!ok(peers)) return
      off()
      resolve()
    })
  })
}
