/**
 * Admission in the browser profile, run in Node (WebRTC through node-datachannel, WebSocket
 * through the `ws` polyfill): with a network key and admission on every peer, two "browsers"
 * reach a Node relay over WebSocket (pnet-protected), admit each other over the relayed
 * connection, go direct over WebRTC (which pnet does not cover), and an evicted browser is cut
 * off on every link and cannot come back over WebRTC without a valid proof.
 */
import { afterEach, expect, it } from 'vitest'
import { createLibp2pNet } from '../../src/net/libp2p.ts'
import type { NetMessage, PeerNet } from '../../src/net/index.ts'
import { FakeOrg, collect, text, until } from './helpers.ts'

const nets: PeerNet[] = []
afterEach(async () => {
  for (const net of nets.splice(0)) await net.stop()
})

/** Dials a `/p2p-circuit/webrtc` address, retrying node-datachannel's occasional hang (browser-profile.test.ts). */
async function dialWebRtc(from: PeerNet, addr: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await from.dial(addr, { signal: AbortSignal.timeout(3_000) })
    } catch (err) {
      if (attempt === 4) throw err
    }
  }
}

it('browsers with the network key admit each other, go direct over WebRTC, and an evicted one stays out', async () => {
  const networkKey = new Uint8Array(32).fill(9)
  const org = new FakeOrg()
  const relay = await createLibp2pNet({
    mdns: false,
    listen: ['/ip4/127.0.0.1/tcp/0/ws'],
    networkKey,
    admission: org.member('relay'),
  })
  nets.push(relay)
  await relay.start()
  const relayAddr = relay.addresses()[0] ?? ''
  const [x, y] = await Promise.all(
    ['x', 'y'].map((name) =>
      createLibp2pNet({
        transports: 'browser',
        bootstrap: [relayAddr],
        logPrefix: name,
        networkKey,
        admission: org.member(name),
      }),
    ),
  )
  if (x === undefined || y === undefined) throw new Error('unreachable')
  nets.push(x, y)
  await Promise.all([x.start(), y.start()])
  await until(() => expect([...relay.peers()].sort()).toEqual([x.peerId, y.peerId].sort()))

  const webrtcAddr = await until(() => {
    const addr = y.addresses().find((a) => a.includes('/p2p-circuit/webrtc'))
    expect(addr).toBeDefined()
    return addr ?? ''
  })
  expect(await dialWebRtc(x, webrtcAddr)).toBe(y.peerId)
  await until(() => expect(x.connections().find((c) => c.peer === y.peerId)?.kind).toBe('direct'))
  await until(() => expect(y.peers()).toContain(x.peerId))
  const got: NetMessage[] = []
  y.subscribe('b', (msg) => got.push(msg))
  y.handle(async function* (req) {
    yield req
  })
  let probe = 0
  await until(async () => expect(await x.publish('b', text(`probe ${++probe}`))).toBe(1))
  await until(() => expect(got).toHaveLength(1))
  expect(await collect(x.request(y.peerId, text('sync')))).toEqual([text('sync')])

  // y is revoked: x evicts it — the WebRTC link and the relayed one go at once.
  org.valid.delete('y')
  await x.evict(y.peerId)
  expect(x.peers()).not.toContain(y.peerId)
  await until(() => expect(y.peers()).not.toContain(x.peerId))
  // The relay still admits y (it has not re-verified), so y can still signal a WebRTC dial to x:
  // x's admission refuses it on that link too.
  const xAddr = await until(() => {
    const addr = x.addresses().find((a) => a.includes('/p2p-circuit/webrtc'))
    expect(addr).toBeDefined()
    return addr ?? ''
  })
  const checks = (): number => org.verified.filter((v) => v.peer === y.peerId).length
  const before = checks()
  await dialWebRtc(y, xAddr).catch(() => undefined)
  await until(() => expect(checks()).toBeGreaterThan(before))
  expect(x.peers()).not.toContain(y.peerId)
  expect(await collect(y.request(x.peerId, text('q'))).catch((e: Error) => e.name)).toBe(
    'PeerUnreachableError',
  )
  expect(await x.publish('b', text('after eviction'))).toBe(0)
})
