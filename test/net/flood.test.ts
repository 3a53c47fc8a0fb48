/**
 * A peer flooding us with gossip our `accept` checks refuse is cut off for a while (src/net/cool-off.ts,
 * gossip.ts), on real libp2p over TCP on 127.0.0.1: its connections close, it cannot come back
 * (dial either way) while it cools off, and an honest peer's gossip keeps flowing.
 */
import { afterEach, expect, it } from 'vitest'
import { FLOOD_REFUSED_PER_SECOND } from '../../src/net/constants.ts'
import { createLibp2pNet } from '../../src/net/libp2p.ts'
import type { PeerNet } from '../../src/net/index.ts'
import { firstAddress, rejection, text, until } from './helpers.ts'

const nets: PeerNet[] = []
afterEach(async () => {
  for (const net of nets.splice(0)) await net.stop()
})

async function spawn(name: string): Promise<PeerNet> {
  const net = await createLibp2pNet({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    bulk: false,
    logPrefix: name,
  })
  nets.push(net)
  await net.start()
  return net
}

it('[FLOOD1] a peer whose gossip we refuse by the thousand within a second is cut off and kept out; others go on', async () => {
  const a = await spawn('a')
  const flooder = await spawn('flooder')
  const honest = await spawn('honest')
  const decode = (d: Uint8Array): string => new TextDecoder().decode(d)
  const got: string[] = []
  a.subscribe('t', (m) => got.push(decode(m.data)), {
    accept: (m) => !decode(m.data).startsWith('junk'),
  })
  flooder.subscribe('t', () => undefined)
  honest.subscribe('t', () => undefined)
  await flooder.dial(firstAddress(a))
  await honest.dial(firstAddress(a))
  await until(() => expect(flooder.topicPeers('t')).toEqual([a.peerId]))
  await until(() => expect(honest.topicPeers('t')).toEqual([a.peerId]))

  const gone = (net: PeerNet, peer: string): Promise<void> =>
    new Promise((resolve) => {
      const off = net.onPeers((peers) => {
        if (peers.includes(peer as (typeof peers)[number])) return
        off()
        resolve()
      })
    })
  const cut = gone(a, flooder.peerId)
  const told = gone(flooder, a.peerId)
  const batch = Array.from({ length: FLOOD_REFUSED_PER_SECOND * 3 }, (_, i) =>
    flooder.publish('t', text(`junk ${i}`)).catch(() => 0),
  )
  await Promise.all([cut, told])
  await Promise.all(batch)
  expect(got.filter((t) => t.startsWith('junk'))).toEqual([])
  // kept out while it cools off: we do not dial it, and its dial is closed once it is encrypted
  // (its side may see the connection for a moment)
  expect((await rejection(a.dial(firstAddress(flooder)))).name).toBe('PeerUnreachableError')
  await flooder.dial(firstAddress(a)).catch(() => undefined)
  await until(() => expect(flooder.peers()).not.toContain(a.peerId))
  expect(a.peers()).toEqual([honest.peerId])
  // the honest peer is still heard
  await honest.publish('t', text('still here'))
  await until(() => expect(got).toContain('still here'))
})
