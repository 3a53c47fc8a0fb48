/**
 * A link lost and found again between two whole peers (real libp2p over TCP on 127.0.0.1): the
 * nets redial each other by themselves (src/net/redial.ts) and the sync on reconnect brings over
 * what each side wrote while they were apart.
 */
import { afterEach, expect, it } from 'vitest'
import { cutProxy, nextPeers, type CutProxy } from '../helpers/cut-proxy.ts'
import { PeerSet, untilTexts } from '../helpers/peers.ts'

const set = new PeerSet()
const proxies: CutProxy[] = []
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close()
  await set.teardown()
})

it('[RECON1] after a link is reset the peers find each other again, and what both wrote meanwhile arrives', async () => {
  const room = 'general'
  const a = await set.add()
  const b = await set.add()
  const proxy = await cutProxy(a.net.addresses().find((x) => x.includes('/tcp/'))!)
  proxies.push(proxy)
  await b.net.dial(proxy.addr)
  await a.messenger.post(room, 'before')
  await untilTexts(b, room, ['before'])

  const lostA = nextPeers(a.net, (p) => p.length === 0)
  const lostB = nextPeers(b.net, (p) => p.length === 0)
  proxy.cut()
  await Promise.all([lostA, lostB])
  const back = nextPeers(a.net, (p) => p.includes(b.net.peerId))
  // written while apart: gossip reaches nobody
  await a.messenger.post(room, 'a while apart')
  await b.messenger.post(room, 'b while apart')
  await back
  // both orders are one order: whichever the two peers agree on
  const texts = async (p: typeof a): Promise<string[]> =>
    (await p.messenger.messages(room)).map((m) => m.text)
  for (const p of [a, b])
    await expect
      .poll(async () => (await texts(p)).toSorted(), { timeout: 20_000, interval: 20 })
      .toEqual(['a while apart', 'b while apart', 'before'])
  expect(await texts(a)).toEqual(await texts(b))
})
