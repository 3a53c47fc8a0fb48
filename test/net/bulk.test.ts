/**
 * The bulk side channel (src/net/bulk.ts) between real libp2p nets on TCP 127.0.0.1: bulk
 * requests travel on it byte-identical (a counting TCP proxy sits where the channel connects, via
 * `announcePort`), reuse it, and fall back to the libp2p stream when it cannot be opened; a
 * hostile client (a bad or replayed token, an oversized record, a flipped bit) is cut off and the
 * peer keeps serving.
 */
import { randomBytes } from 'node:crypto'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createLibp2pNet, type Libp2pNetInit } from '../../src/net/libp2p.ts'
import type { PeerNet, RequestHandler } from '../../src/net/index.ts'
import { tcpHosts } from '../../src/net/bulk.ts'
import { bytes, collect, firstAddress, rejection, sameBytes, until } from './helpers.ts'

const LOOPBACK = '/ip4/127.0.0.1/tcp/0'
const MiB = 1024 * 1024

/** Rewrites bytes flowing one way on one proxied connection: `offset` is that chunk's position. */
type Tamper = (chunk: Buffer, offset: number) => Buffer

interface Proxy {
  port: number
  /** Bytes carried server → client, over all connections. */
  down: number
  connections: number
  /** Proxied connections still open. */
  open: number
  /** The first 32 bytes the first client sent (its token). */
  firstToken: Buffer | undefined
  /** Tampering for the next connections (by their index, 0-based). */
  tamper: (index: number) => { up?: Tamper; down?: Tamper }
  close(): Promise<void>
}

async function startProxy(target: number): Promise<Proxy> {
  const sockets = new Set<Socket>()
  const proxy: Proxy = {
    port: 0,
    down: 0,
    connections: 0,
    open: 0,
    firstToken: undefined,
    tamper: () => ({}),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
  const pipe = (from: Socket, to: Socket, tamper: Tamper | undefined, down: boolean): void => {
    let offset = 0
    let head = Buffer.alloc(0)
    from.on('data', (chunk: Buffer) => {
      if (!down && proxy.firstToken === undefined && head.length < 32) {
        head = Buffer.concat([head, chunk])
        if (head.length >= 32) proxy.firstToken = head.subarray(0, 32)
      }
      const out = tamper === undefined ? chunk : tamper(Buffer.from(chunk), offset)
      offset += chunk.length
      if (down) proxy.down += chunk.length
      to.write(out)
    })
    from.on('close', () => to.destroy())
    from.on('error', () => to.destroy())
  }
  const server: Server = createServer((client) => {
    const index = proxy.connections++
    const upstream = connect(target, '127.0.0.1')
    sockets.add(client).add(upstream)
    proxy.open++
    client.once('close', () => proxy.open--)
    const { up, down } = proxy.tamper(index)
    pipe(client, upstream, up, false)
    pipe(upstream, client, down, true)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  proxy.port = (server.address() as { port: number }).port
  return proxy
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Writes `data` to 127.0.0.1:`port`; resolves with what came back before the server closed. */
function rawConnect(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    const s = connect(port, '127.0.0.1', () => s.write(data))
    s.on('data', (d: Buffer) => parts.push(d))
    s.on('close', () => resolve(Buffer.concat(parts)))
    s.on('error', reject)
  })
}

/** A byte at `at` (absolute, in one direction) flipped; or the 4 bytes from `at` set to 0xff. */
const flipAt =
  (at: number): Tamper =>
  (chunk, offset) => {
    if (at >= offset && at < offset + chunk.length) chunk[at - offset]! ^= 0x01
    return chunk
  }
const oversizeAt =
  (at: number): Tamper =>
  (chunk, offset) => {
    for (let i = at; i < at + 4; i++)
      if (i >= offset && i < offset + chunk.length) chunk[i - offset] = 0xff
    return chunk
  }

const FRAMES = [
  bytes(MiB, 1),
  bytes(MiB + 38, 2),
  bytes(3 * MiB, 3),
  bytes(17, 4),
  new Uint8Array(0),
]
const serveFrames: RequestHandler = async function* (request) {
  expect(request[0]).toBe(7)
  yield* FRAMES
}
const ask = (net: PeerNet, peer: PeerNet, bulk = true): Promise<Uint8Array[]> =>
  collect(net.request(peer.peerId, Uint8Array.of(7), { bulk }))
const sameFrames = (got: Uint8Array[]): boolean =>
  got.length === FRAMES.length && got.every((f, i) => sameBytes(f, FRAMES[i]))

describe('bulk side channel (libp2p on TCP 127.0.0.1)', () => {
  const nets: PeerNet[] = []
  const proxies: Proxy[] = []
  afterEach(async () => {
    for (const net of nets.splice(0)) await net.stop()
    for (const p of proxies.splice(0)) await p.close()
  })

  /** A serving net whose bulk channel is reached through a proxy, and a client connected to it. */
  async function pair(bulk: Libp2pNetInit['bulk'] | 'proxy' = 'proxy') {
    const port = await freePort()
    const proxy = await startProxy(port)
    proxies.push(proxy)
    const server = await createLibp2pNet({
      mdns: false,
      listen: [LOOPBACK],
      bulk: bulk === 'proxy' ? { port, announcePort: proxy.port } : bulk,
    })
    const client = await createLibp2pNet({ mdns: false, listen: [LOOPBACK] })
    nets.push(server, client)
    await Promise.all([server.start(), client.start()])
    server.handle(serveFrames)
    await client.dial(firstAddress(server))
    return { server, client, proxy, port }
  }

  it('[BULK1] carries a bulk request byte-identical on the side channel, and reuses it', async () => {
    const { server, client, proxy } = await pair()
    expect(sameFrames(await ask(client, server))).toBe(true)
    const total = FRAMES.reduce((n, f) => n + f.length, 0)
    expect(proxy.down).toBeGreaterThan(total)
    expect(sameFrames(await ask(client, server))).toBe(true)
    expect(proxy.connections).toBe(1)
    // A request not marked bulk takes the libp2p stream.
    const before = proxy.down
    expect(sameFrames(await ask(client, server, false))).toBe(true)
    expect(proxy.down).toBe(before)
  })

  it('[BULK2] falls back to the libp2p stream when the port is refused or the peer has no channel', async () => {
    const closed = await freePort()
    const refused = await pair({ announcePort: closed })
    expect(sameFrames(await ask(refused.client, refused.server))).toBe(true)
    expect(sameFrames(await ask(refused.client, refused.server))).toBe(true)
    const none = await pair(false)
    expect(sameFrames(await ask(none.client, none.server))).toBe(true)
    expect(refused.proxy.connections + none.proxy.connections).toBe(0)
  })

  it('[BULK3] refuses a bad token and a replayed one, and keeps serving', async () => {
    const { server, client, proxy, port } = await pair()
    expect(await rawConnect(port, randomBytes(32))).toHaveLength(0)
    expect(sameFrames(await ask(client, server))).toBe(true)
    const token = proxy.firstToken
    expect(token).toBeDefined()
    expect(await rawConnect(port, token ?? Buffer.alloc(0))).toHaveLength(0)
    expect(sameFrames(await ask(client, server))).toBe(true)
  })

  it('[BULK4] drops a channel on an oversized record or a flipped bit, either way, and keeps serving', async () => {
    const { server, client, proxy } = await pair()
    // Connection 0: the request record's length says 4 GiB; 1: a bit of its ciphertext flipped;
    // 2: a bit of the server's first frame flipped (after the 21-byte READY record).
    const hostile = [{ up: oversizeAt(32) }, { up: flipAt(32 + 4 + 1) }, { down: flipAt(21 + 200) }]
    proxy.tamper = (index) => hostile[index] ?? {}
    for (const _ of hostile) {
      const err = await rejection(ask(client, server))
      expect(err.name).toBe('ResponseAbortedError')
    }
    expect(proxy.connections).toBe(3)
    expect(sameFrames(await ask(client, server))).toBe(true)
    expect(proxy.connections).toBe(4)
  })

  it('[BULK5] a slow requester holds the sender back and still gets every frame in order', async () => {
    const { server, client, proxy } = await pair()
    const many = Array.from({ length: 48 }, (_, i) => bytes(256 * 1024, 100 + i))
    server.handle(async function* () {
      yield* many
    })
    const got: Uint8Array[] = []
    for await (const frame of client.request(server.peerId, Uint8Array.of(7), { bulk: true })) {
      got.push(frame)
      // A consumer slower than the socket: records wait, the socket pauses and resumes.
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    expect(got.length).toBe(many.length)
    expect(got.every((f, i) => sameBytes(f, many[i]))).toBe(true)
    expect(proxy.connections).toBe(1)
  })

  it('[BULK6] evicting the peer closes its kept channel', async () => {
    const { server, client, proxy } = await pair()
    expect(sameFrames(await ask(client, server))).toBe(true)
    expect(proxy.open).toBe(1) // kept for the next request
    await server.evict(client.peerId)
    await until(() => expect(proxy.open).toBe(0))
  })

  it('[BULK7] the listener binds to the hosts of the TCP listen addresses (a wildcard covers the rest)', () => {
    expect(
      tcpHosts([
        '/ip4/127.0.0.1/tcp/0',
        '/ip4/127.0.0.1/tcp/0/ws',
        '/ip6/::1/tcp/4001',
        '/ip4/0.0.0.0/tcp/0',
        '/memory/x',
        '/p2p-circuit',
      ]),
    ).toEqual(['::1', '0.0.0.0'])
    expect(tcpHosts(['/ip4/192.168.1.5/tcp/4041', '/ip4/127.0.0.1/tcp/0/ws'])).toEqual([
      '192.168.1.5',
      '127.0.0.1',
    ])
  })

  it('[BULK8] a requester that stops reading ends the handler and frees the channel', async () => {
    const { server, client, proxy } = await pair()
    let stopped = false
    server.handle(async function* (_req, _from, { signal }) {
      try {
        for (let i = 0; i < 10_000 && !signal.aborted; i++) yield bytes(64 * 1024, i)
      } finally {
        stopped = signal.aborted
      }
    })
    let n = 0
    for await (const _ of client.request(server.peerId, Uint8Array.of(7), { bulk: true })) {
      if (++n === 3) break
    }
    await until(() => expect(stopped).toBe(true))
    server.handle(serveFrames)
    expect(sameFrames(await ask(client, server))).toBe(true)
    expect(proxy.connections).toBe(2)
  })
})
