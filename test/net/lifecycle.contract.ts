/** Contract cases for peers, start/stop and addresses, registered by `registerPeerNetContract`. */
import { expect, it } from 'vitest'
import type { NetMessage, PeerIdString, PeerNet } from '../../src/net/index.ts'
import { collect, firstAddress, rejection, text, until } from './helpers.ts'

export function registerLifecycleCases(setup: (n: number) => Promise<PeerNet[]>): void {
  it('[NET6] onPeers reports connect and disconnect', async () => {
    const [a, b] = (await setup(2)) as [PeerNet, PeerNet]
    expect(a.peers()).toEqual([b.peerId])
    const events: (readonly PeerIdString[])[] = []
    const off = a.onPeers((peers) => events.push(peers))
    a.onPeers(() => {
      throw new Error('listener bug')
    })

    await b.stop()
    await until(() => expect(events.at(-1)).toEqual([]))
    expect(a.peers()).toEqual([])

    await b.start()
    await a.dial(firstAddress(b))
    await until(() => expect(events.at(-1)).toEqual([b.peerId]))
    expect(a.peers()).toEqual([b.peerId])
    // Each change is reported once, and a peer is listed once even with two connections.
    expect(events).toEqual([[], [b.peerId]])
    const conns = a.connections()
    expect(conns.map((c) => c.peer)).toEqual([b.peerId])
    expect(conns[0]?.kind).toBe('direct')
    expect(conns[0]?.addrs.length).toBeGreaterThan(0)

    off()
    await b.stop()
    await until(() => expect(a.peers()).toEqual([]))
    expect(events).toHaveLength(2)
  })

  it('[NET10] stopped nets refuse work; a restarted net keeps its subscriptions', async () => {
    const [a, b] = (await setup(2)) as [PeerNet, PeerNet]
    const got: NetMessage[] = []
    a.subscribe('t10', (msg) => got.push(msg))
    await a.stop()
    await a.stop() // idempotent
    expect(a.addresses()).toEqual([])
    expect((await rejection(a.publish('t10', text('x')))).name).toBe('NotStartedError')
    expect((await rejection(collect(a.request(b.peerId, text('x'))))).name).toBe('NotStartedError')
    expect((await rejection(a.dial(firstAddress(b)))).name).toBe('NotStartedError')

    await Promise.all([a.start(), a.start()])
    if (a.peers().length === 0) await a.dial(firstAddress(b))
    await until(() => expect(b.topicPeers('t10')).toEqual([a.peerId]))
    // b can learn a's subscription before its own gossip stream to a is open; a publish in that
    // window reaches no one and says so (docs/net.md, Gossipsub): publish until one reaches a
    let sent = 0
    await until(async () => expect(await b.publish('t10', text(`after restart ${++sent}`))).toBe(1))
    await until(() => expect(got.length).toBeGreaterThanOrEqual(1))
  })

  it('[NET11] addresses carry our peer id; dial resolves with the remote id', async () => {
    const [a, b] = (await setup(2)) as [PeerNet, PeerNet]
    expect(a.addresses().length).toBeGreaterThan(0)
    for (const addr of a.addresses()) expect(addr.endsWith(`/p2p/${a.peerId}`)).toBe(true)
    expect(await a.dial(firstAddress(b))).toBe(b.peerId)
    expect((await rejection(a.dial('definitely not a multiaddr'))).name).toBe(
      'InvalidMultiaddrError',
    )
  })
}
