/**
 * The link monitor (src/net/link-monitor.ts) on real libp2p over TCP on 127.0.0.1: a link that
 * hangs (a relay in front of one peer stops passing bytes, as a cut link whose TCP is backing off
 * looks) while the peer can be reached afresh is replaced long before its ping would time out.
 */
import type { Connection, Libp2p } from '@libp2p/interface'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { LinkMonitor, LinkStuckError } from '../../src/net/link-monitor.ts'
import { cutProxy, type CutProxy } from '../helpers/cut-proxy.ts'
import { silentLog as log } from './helpers.ts'

async function node(): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: { identify: identify(), ping: ping() },
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

  it('[LINK1] a link that hangs while its peer is reachable afresh is replaced, not left to its ping timeout', async () => {
    const [a, b] = [await node(), await node()]
    nodes.push(a, b)
    const proxy = await cutProxy(a.getMultiaddrs()[0]!.toString())
    proxies.push(proxy)
    const old = await b.dial(multiaddr(proxy.addr))
    // identify tells b a's own address: a probe reaches a directly, past the stalled relay
    const own = a.getMultiaddrs()[0]!.decapsulateCode(421).toString()
    await expect
      .poll(async () =>
        (await b.peerStore.get(a.peerId)).addresses.map((x) => x.multiaddr.toString()),
      )
      .toContain(own)
    // pings answered: nothing is replaced
    const times = {
      pingIntervalMs: 300,
      troubledPingMs: 100,
      stallMs: 600,
      probeConnectMs: 500,
      minPingTimeoutMs: 120_000,
    }
    const monitor = new LinkMonitor(log, times)
    monitors.push(monitor)
    monitor.attach(b)
    await expect.poll(() => old.rtt, { timeout: 5_000 }).toBeDefined()
    expect(old.status).toBe('open')

    const gone = closed(old)
    proxy.stall()
    // the ping's own timeout is 2 minutes away; the replacement comes after one stall and a probe
    const error = await gone
    expect(error).toBeInstanceOf(LinkStuckError)
    expect(error?.message).toContain('fresh connection')
    expect(proxy.accepted).toBe(1)
    // the probe itself was closed too: the peer is redialled afresh by the caller (redial.ts)
    await expect.poll(() => b.getConnections(a.peerId).length).toBe(0)
  })
})
