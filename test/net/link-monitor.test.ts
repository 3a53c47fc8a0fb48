/**
 * The link monitor (src/net/link-monitor.ts) on real libp2p over TCP on 127.0.0.1: a link that
 * hangs (a relay in front of one peer stops passing bytes, as a cut link whose TCP is backing off
 * looks) while the peer can be reached afresh is replaced long before its ping would time out; a
 * link whose pings wait as long behind a transfer (a relay paced to 1 MB/s) keeps it.
 */
import type { Connection, Libp2p, MessageStream, StreamMuxerFactory } from '@libp2p/interface'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { LinkMonitor, LinkStuckError, type LinkMonitorTimes } from '../../src/net/link-monitor.ts'
import { cutProxy, type CutProxy } from '../helpers/cut-proxy.ts'
import { silentLog as log } from './helpers.ts'

const BULK = '/parley-test/bulk/1'
/** yamux's flag on a ping's answer. */
const YAMUX_ACK = 2

/**
 * A node whose links `monitor` can watch (it is attached later); `manyInbound`: it takes any
 * number of connections from 127.0.0.1 at once (libp2p's default is 5 a second per address).
 */
async function node(
  monitor: LinkMonitor,
  manyInbound = false,
  pingService = true,
  muxer: () => StreamMuxerFactory = yamux(),
): Promise<Libp2p> {
  return createLibp2p({
    ...(manyInbound ? { connectionManager: { inboundConnectionThreshold: Infinity } } : {}),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [monitor.watch(muxer)],
    connectionMonitor: { enabled: false },
    services: { identify: identify(), ...(pingService ? { ping: ping() } : {}) },
  })
}

/** Resolves with the close event's error once `conn` closes. */
const closed = (conn: Connection): Promise<Error | undefined> =>
  new Promise((resolve) =>
    conn.addEventListener('close', (e) => resolve((e as Event & { error?: Error }).error), {
      once: true,
    }),
  )

describe('LinkMonitor', () => {
  const nodes: Libp2p[] = []
  const monitors: LinkMonitor[] = []
  const proxies: CutProxy[] = []
  afterEach(async () => {
    for (const m of monitors.splice(0)) m.detach()
    await Promise.all(nodes.splice(0).map((n) => n.stop()))
    await Promise.all(proxies.splice(0).map((p) => p.close()))
  })

  /**
   * Two nodes a and b, each with a monitor on `times` (not attached yet), and b's link to a
   * through a relay (`rate`: paced); resolves once b knows a's own address too, where probes go.
   */
  async function pair(times: Partial<LinkMonitorTimes>, rate?: number) {
    const [ma, mb] = [new LinkMonitor(log, times), new LinkMonitor(log, times)]
    monitors.push(ma, mb)
    const [a, b] = [await node(ma), await node(mb)]
    nodes.push(a, b)
    const proxy = await cutProxy(a.getMultiaddrs()[0]!.toString(), { bytesPerSecond: rate })
    proxies.push(proxy)
    const link = await b.dial(multiaddr(proxy.addr))
    const own = a.getMultiaddrs()[0]!.decapsulateCode(421).toString()
    await expect
      .poll(async () =>
        (await b.peerStore.get(a.peerId)).addresses.map((x) => x.multiaddr.toString()),
      )
      .toContain(own)
    return { a, b, ma, mb, proxy, link }
  }

  it('[LINK1] a link that hangs while its peer is reachable afresh is replaced, not left to its ping timeout', async () => {
    const { a, b, mb, proxy, link } = await pair({
      pingIntervalMs: 300,
      troubledPingMs: 100,
      stallMs: 600,
      probeConnectMs: 500,
      minPingTimeoutMs: 120_000,
    })
    // pings answered: nothing is replaced
    mb.attach(b)
    await expect.poll(() => link.rtt, { timeout: 5_000 }).toBeDefined()
    expect(link.status).toBe('open')

    const gone = closed(link)
    proxy.stall()
    // the ping's own timeout is 2 minutes away; the replacement comes after one stall and a probe
    const error = await gone
    expect(error).toBeInstanceOf(LinkStuckError)
    expect(error?.message).toContain('fresh connection')
    expect(proxy.accepted).toBe(1)
    // the probe itself was closed too: the peer is redialled afresh by the caller (redial.ts)
    await expect.poll(() => b.getConnections(a.peerId).length).toBe(0)
  })

  it('[LINK6] quietFor: how long since a link last received a byte — short while pings are answered, growing once it hangs', async () => {
    const { b, mb, proxy, link } = await pair({
      pingIntervalMs: 200,
      stallMs: 60_000,
      minPingTimeoutMs: 120_000,
    })
    expect(mb.quietFor([])).toBeUndefined()
    mb.attach(b)
    await expect.poll(() => link.rtt, { timeout: 5_000 }).toBeDefined()
    // answers keep arriving every 200 ms
    await expect.poll(() => mb.quietFor([link])).toBeLessThan(200)
    proxy.stall()
    await expect.poll(() => mb.quietFor([link]), { timeout: 5_000 }).toBeGreaterThanOrEqual(1_000)
    expect(link.status).toBe('open')
  })

  it('[LINK2] a link busy with a transfer keeps it: its pings wait longer than a stall and a ping timeout, but bytes keep arriving', async () => {
    const size = 6 * 1024 * 1024
    const { a, b, ma, mb, proxy, link } = await pair(
      {
        pingIntervalMs: 300,
        troubledPingMs: 100,
        stallMs: 300,
        probeConnectMs: 500,
        minPingTimeoutMs: 1_000,
      },
      1_000_000,
    )
    await a.handle(BULK, async (stream) => {
      const chunk = new Uint8Array(64 * 1024)
      for (let sent = 0; sent < size; sent += chunk.length)
        if (!stream.send(chunk))
          await new Promise((r) => stream.addEventListener('drain', r, { once: true }))
      await stream.close()
    })
    ma.attach(a)
    mb.attach(b)
    // the link must carry the whole transfer: its closing fails the test at once
    const lost = closed(link).then((e) => {
      throw e ?? new Error('the link closed')
    })
    lost.catch(() => undefined) // it closes when the test ends, too
    const stream = await link.newStream(BULK)
    let got = 0
    const received = new Promise<void>((resolve) => {
      stream.addEventListener('message', (e) => {
        got += e.data.byteLength
        if (got === size) resolve()
      })
    })
    // while the transfer runs, a round trip over the link takes longer than the ping's timeout
    let slowest = 0
    while (got < size / 2) {
      const started = Date.now()
      const ping = await link.newStream('/ipfs/ping/1.0.0')
      const echoed = new Promise((resolve) =>
        ping.addEventListener('message', resolve, { once: true }),
      )
      ping.send(new Uint8Array(32))
      await Promise.race([echoed, lost])
      ping.abort(new Error('timed'))
      slowest = Math.max(slowest, Date.now() - started)
    }
    console.log('[LINK2] slowest round trip during the transfer: %d ms', slowest)
    expect(slowest).toBeGreaterThan(1_000)
    await Promise.race([received, lost])
    expect(link.status).toBe('open')
    // no probe went through the relay, and the link is still b's only one to a
    expect(proxy.accepted).toBe(1)
    expect(b.getConnections(a.peerId)).toEqual([link])
  }, 60_000)

  it('[LINK4] a ping is one yamux frame each way, not a stream of the ping protocol', async () => {
    const times = { pingIntervalMs: 300, troubledPingMs: 100, stallMs: 600, probeConnectMs: 500 }
    const [ma, mb] = [new LinkMonitor(log, times), new LinkMonitor(log, times)]
    monitors.push(ma, mb)
    // a answers the ping protocol itself, counting the streams it gets
    const a = await node(ma, false, false)
    const b = await node(mb)
    nodes.push(a, b)
    let pingStreams = 0
    await a.handle('/ipfs/ping/1.0.0', (stream) => {
      pingStreams++
      stream.addEventListener('message', (e) => stream.send(e.data))
    })
    const link = await b.dial(a.getMultiaddrs()[0]!)
    mb.attach(b)
    // three pings answered: the rtt set, cleared here, set again, twice
    for (let k = 0; k < 3; k++) {
      link.rtt = -1
      await expect.poll(() => link.rtt, { timeout: 5_000 }).toBeGreaterThanOrEqual(0)
    }
    expect(pingStreams).toBe(0)
    expect(link.status).toBe('open')
  })

  it('[LINK5] a peer starved past its ping timeout reads what came in before judging its links', async () => {
    // An overloaded peer (50 on 2 cores) gets no CPU for seconds; when it runs again its timers
    // fire before the sockets are read (libuv: timers, then poll), so the answer already in the
    // socket looked missing, the link silent, and the link was aborted or probed (hundreds of
    // lost links in the 50-peer load bench).
    const times = {
      pingIntervalMs: 300,
      troubledPingMs: 100,
      stallMs: 600,
      probeConnectMs: 500,
      minPingTimeoutMs: 200,
    }
    const [ma, mb] = [new LinkMonitor(log, times), new LinkMonitor(log, times)]
    monitors.push(ma, mb)
    // Once `starve` is set, the process gets no CPU for 1 s right after a has answered one of b's
    // pings: the answer is in b's socket, unread, while b's ping timeout and stall come due. (Both
    // nodes share this process; `sendPing` is yamux's own, unexported, sender of ping frames.)
    let starve = false
    const starving = (): StreamMuxerFactory => {
      const factory = yamux()()
      return {
        protocol: factory.protocol,
        createStreamMuxer: (stream: MessageStream) => {
          const made = factory.createStreamMuxer(stream)
          const internal = made as unknown as { sendPing(id: number, flag?: number): void }
          const sendPing = internal.sendPing.bind(made)
          internal.sendPing = (id, flag) => {
            sendPing(id, flag)
            if (flag !== YAMUX_ACK || !starve) return
            starve = false
            // after this turn's writes: the answer leaves, then nothing runs for 1 s
            setImmediate(() => {
              const until = Date.now() + 1_000
              while (Date.now() < until); // the CPU taken away: no timer, no socket read
            })
          }
          return made
        },
      }
    }
    const a = await node(ma, false, false, starving)
    const b = await node(mb)
    nodes.push(a, b)
    let opened = 0
    a.addEventListener('connection:open', () => opened++)
    const link = await b.dial(a.getMultiaddrs()[0]!)
    const lost = closed(link).then((e) => {
      throw e ?? new Error('the link closed')
    })
    lost.catch(() => undefined) // it closes when the test ends, too
    mb.attach(b)
    await expect.poll(() => link.rtt, { timeout: 5_000 }).toBeGreaterThanOrEqual(0)
    starve = true
    await expect.poll(() => starve, { timeout: 5_000 }).toBe(false)
    // three pings answered after the starved one, on the same link, with no probe beside it
    for (let k = 0; k < 3; k++) {
      link.rtt = -1
      await Promise.race([
        expect.poll(() => link.rtt, { timeout: 5_000 }).toBeGreaterThanOrEqual(0),
        lost,
      ])
    }
    expect(link.status).toBe('open')
    expect(opened).toBe(1)
  })

  it('[LINK3] a peer with many links pings them all at once without piling listeners on one signal', async () => {
    // A `parley serve` in an office has dozens of links; its monitor pings those due in one tick
    // together. Each ping's timeout once listened on the monitor's one shutdown signal, and Node
    // warned of a leak ("11 abort listeners added to [AbortSignal]") on every busy peer.
    const warnings: string[] = []
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`)
    process.on('warning', onWarning)
    try {
      const hubMonitor = new LinkMonitor(log, { pingIntervalMs: 200, troubledPingMs: 100 })
      monitors.push(hubMonitor)
      const hub = await node(hubMonitor, true)
      nodes.push(hub)
      const spokes = await Promise.all(Array.from({ length: 12 }, () => node(new LinkMonitor(log))))
      nodes.push(...spokes)
      const links: Connection[] = []
      for (const s of spokes) links.push(await s.dial(hub.getMultiaddrs()[0]!))
      hubMonitor.attach(hub)
      // every link pinged by the hub, twice over: its rtt set, cleared here, then set again
      const first = await Promise.all(
        spokes.map(async (s) => {
          await expect
            .poll(() => hub.getConnections(s.peerId)[0]?.rtt, { timeout: 10_000 })
            .toBeGreaterThanOrEqual(0)
          return hub.getConnections(s.peerId)[0]!
        }),
      )
      for (const c of first) c.rtt = -1
      await expect
        .poll(() => first.filter((c) => c.rtt !== -1).length, { timeout: 10_000 })
        .toBe(12)
      expect(links.every((l) => l.status === 'open')).toBe(true)
      expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([])
    } finally {
      process.off('warning', onWarning)
    }
  }, 60_000)
})
