import { peerDiscoverySymbol, type PeerDiscovery, type PeerInfo } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { createLibp2pNet, generateNetKey } from '../../src/net/libp2p.ts'
import type { PeerNet } from '../../src/net/index.ts'
import { firstAddress, until } from './helpers.ts'

/** A discovery module the test drives by hand, in place of mDNS. */
class FakeDiscovery extends EventTarget {
  readonly [Symbol.toStringTag] = 'fake-discovery'
  get [peerDiscoverySymbol](): PeerDiscovery {
    return this as unknown as PeerDiscovery
  }
  announce(net: PeerNet): void {
    const info: PeerInfo = {
      id: peerIdFromString(net.peerId),
      multiaddrs: net.addresses().map((a) => multiaddr(a)),
    }
    this.dispatchEvent(new CustomEvent('peer', { detail: info }))
  }
}

describe('dialling discovered peers', () => {
  const nets: PeerNet[] = []
  afterEach(async () => {
    for (const net of nets.splice(0)) await net.stop()
  })

  it('dials a discovered peer once, never itself, and again after losing it', async () => {
    const discovery = new FakeDiscovery()
    const a = await createLibp2pNet(
      { transports: 'memory', mdns: false },
      { peerDiscovery: [() => discovery as unknown as PeerDiscovery] },
    )
    const key = await generateNetKey()
    const b = await createLibp2pNet({ transports: 'memory', mdns: false, privateKey: key })
    nets.push(a, b)
    await a.start()
    await b.start()

    discovery.announce(a)
    for (let i = 0; i < 50; i++) discovery.announce(b)
    await until(() => expect(a.peers()).toEqual([b.peerId]))
    expect(a.connections()).toHaveLength(1)
    expect(a.connections()[0]?.addrs).toHaveLength(1)

    // b goes away and comes back: libp2p emits no new `peer:discovery` for a peer it already
    // knows, so only our watch on the discovery module itself brings it back.
    await b.stop()
    await until(() => expect(a.peers()).toEqual([]))
    const again = await createLibp2pNet({ transports: 'memory', mdns: false, privateKey: key })
    nets.push(again)
    await again.start()
    expect(firstAddress(again)).toBe(`/memory/${b.peerId}/p2p/${b.peerId}`)
    discovery.announce(again)
    await until(() => expect(a.peers()).toEqual([b.peerId]))
  })
})
