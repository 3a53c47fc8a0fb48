/**
 * The browser profile, run in Node (WebRTC through node-datachannel, WebSocket through the `ws`
 * polyfill): two "browsers" reach a Node relay over WebSocket, reserve a circuit slot, upgrade to
 * a direct WebRTC link with no STUN server, and keep talking after the relay is gone.
 */
import { afterEach, expect, it } from 'vitest'
import { createLibp2pNet } from '../../src/net/libp2p.ts'
import type { NetMessage, PeerNet } from '../../src/net/index.ts'
import { collect, text, until } from './helpers.ts'

const nets: PeerNet[] = []
afterEach(async () => {
  for (const net of nets.splice(0)) await net.stop()
})

it('browser peers meet through a Node relay and go direct over WebRTC', async () => {
  const relay = await createLibp2pNet({ mdns: false, listen: ['/ip4/127.0.0.1/tcp/0/ws'] })
  nets.push(relay)
  await relay.start()
  const relayAddr = relay.addresses()[0] ?? ''
  const [x, y] = await Promise.all(
    ['x', 'y'].map((logPrefix) =>
      createLibp2pNet({ transports: 'browser', bootstrap: [relayAddr], logPrefix }),
    ),
  )
  if (x === undefined || y === undefined) throw new Error('unreachable')
  nets.push(x, y)
  await Promise.all([x.start(), y.start()])

  // y's reservation on the relay gives it a dialable /p2p-circuit/webrtc address.
  const webrtcAddr = await until(() => {
    const addr = y.addresses().find((a) => a.includes('/p2p-circuit/webrtc'))
    expect(addr).toBeDefined()
    return addr ?? ''
  })
  // In Node, node-datachannel sometimes takes ICE candidates before the answer ("Got a remote
  // candidate without ICE transport"), the peer connection closes, and the dial hangs until its
  // timeout: about 1 dial in 4 here. Retry quickly, as the browser layer will have to.
  for (let attempt = 1; ; attempt++) {
    try {
      expect(await x.dial(webrtcAddr, { signal: AbortSignal.timeout(3_000) })).toBe(y.peerId)
      break
    } catch (err) {
      if (attempt === 4) throw err
    }
  }
  await until(() => expect(x.connections().find((c) => c.peer === y.peerId)?.kind).toBe('direct'))

  const got: NetMessage[] = []
  y.subscribe('b', (msg) => got.push(msg))
  y.handle(async function* (req) {
    yield req
  })
  // y's subscription can reach x a moment before x's own gossipsub stream to y is open (WebRTC
  // channels open slower than yamux streams): until then publish reaches no one and says so.
  let probe = 0
  await until(async () => expect(await x.publish('b', text(`probe ${++probe}`))).toBe(1))
  await until(() => expect(got).toHaveLength(1))
  await x.publish('b', text('via webrtc'))
  await until(() => expect(got).toHaveLength(2))

  // The relay goes away: the direct link carries on (ChainSafe/js-libp2p-gossipsub#448).
  await relay.stop()
  await until(() => expect(x.peers()).toEqual([y.peerId]))
  await x.publish('b', text('relay gone'))
  await until(() => expect(got.at(-1)?.data).toEqual(text('relay gone')))
  expect(got.at(-2)?.data).toEqual(text('via webrtc'))
  expect(await collect(x.request(y.peerId, text('sync')))).toEqual([text('sync')])
})
