/**
 * Redialling lost peers (src/net/redial.ts): the backoff and when it stops, on a stub node with
 * fake timers; then real libp2p over TCP on 127.0.0.1, with the link cut under two admitted
 * peers by resetting it in a relay between them.
 */
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  DIAL_TIMEOUT_MS,
  REDIAL_FRESH_ATTEMPTS,
  REDIAL_FRESH_DIAL_TIMEOUT_MS,
  REDIAL_FRESH_MAX_MS,
  REDIAL_MAX_ATTEMPTS,
} from '../../src/net/constants.ts'
import { createLibp2pNet, type Libp2pNetInit } from '../../src/net/libp2p.ts'
import { Redialer } from '../../src/net/redial.ts'
import type { AdmissionRefusal, NetMessage, PeerNet } from '../../src/net/index.ts'
import { cutProxy, nextPeers, type CutProxy } from '../helpers/cut-proxy.ts'
import { FakeOrg, silentLog as log, text, until } from './helpers.ts'

function conn(addr: string, direct = true): Connection {
  return { status: 'open', direct, remoteAddr: multiaddr(addr) } as unknown as Connection
}

/** A stub node: `dial` answers from the queue (undefined: succeeds), or hangs if it is empty. */
function stubNode(): {
  node: Libp2p
  dials: string[]
  answers: (Error | undefined)[]
  connected: Set<string>
} {
  const dials: string[] = []
  const answers: (Error | undefined)[] = []
  const connected = new Set<string>()
  const node = {
    getConnections: (id: PeerId) => (connected.has(id.toString()) ? [conn('/ip4/1.2.3.4')] : []),
    dial: (id: PeerId) => {
      dials.push(id.toString())
      if (answers.length === 0) return new Promise(() => undefined)
      const answer = answers.shift()
      return answer === undefined ? Promise.resolve(conn('/ip4/1.2.3.4')) : Promise.reject(answer)
    },
  } as unknown as Libp2p
  return { node, dials, answers, connected }
}

const named = (name: string): Error => Object.assign(new Error(name), { name })
const peerIds = async (n: number): Promise<string[]> =>
  Promise.all(
    Array.from({ length: n }, async () =>
      peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString(),
    ),
  )
const TCP = '/ip4/10.0.0.2/tcp/4041'

describe('Redialer', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('[RDL1] a lost peer is dialled again with growing delays until one works; its admission resets the count', async () => {
    vi.useFakeTimers()
    const [p] = await peerIds(1)
    const s = stubNode()
    const r = new Redialer(log, () => undefined)
    r.attach(s.node)
    r.remember(p!, [conn(TCP)])
    s.answers.push(named('ConnectionFailedError'), named('ConnectionFailedError'), undefined)
    r.lost(p!)
    await vi.advanceTimersByTimeAsync(350) // the first delay is 500 ms ± 25 %
    expect(s.dials).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(s.dials).toEqual([p, p, p])
    // back, then lost again before it was admitted: the backoff goes on (2 s: the most while fresh)
    s.answers.push(named('ConnectionFailedError'))
    r.lost(p!)
    await vi.advanceTimersByTimeAsync(1_400)
    expect(s.dials).toHaveLength(3)
    await vi.advanceTimersByTimeAsync(20_000)
    expect(s.dials).toHaveLength(5) // the fifth dial hangs
    // admitted again (over another link): the next loss starts from 500 ms
    r.remember(p!, [conn(TCP)])
    r.lost(p!)
    await vi.advanceTimersByTimeAsync(700)
    expect(s.dials).toHaveLength(6)
    r.detach()
  })

  it('[RDL2] gives up after REDIAL_MAX_ATTEMPTS failed dials, and at once when the peer is unreachable from here', async () => {
    vi.useFakeTimers()
    const [p, q, d] = await peerIds(3)
    const s = stubNode()
    const r = new Redialer(log, () => undefined)
    r.attach(s.node)
    r.remember(p!, [conn(TCP)])
    for (let i = 0; i < REDIAL_MAX_ATTEMPTS + 5; i++) s.answers.push(named('ConnectionFailedError'))
    r.lost(p!)
    await vi.advanceTimersByTimeAsync(60 * 60_000)
    expect(s.dials).toHaveLength(REDIAL_MAX_ATTEMPTS)
    // no address we can dial (a browser), or our own gater says no: one dial, then never again
    s.answers.splice(0)
    s.dials.splice(0)
    r.remember(q!, [conn(TCP)])
    r.remember(d!, [conn(TCP)])
    s.answers.push(named('NoValidAddressesError'), named('DialDeniedError'))
    r.lost(q!)
    r.lost(d!)
    await vi.advanceTimersByTimeAsync(60 * 60_000)
    expect(s.dials.sort()).toEqual([d, q].sort())
    r.detach()
  })

  it('[RDL5] while the loss is fresh, redials come at most 2 s apart; then the delay grows', async () => {
    vi.useFakeTimers()
    const [p] = await peerIds(1)
    const s = stubNode()
    const at: number[] = []
    const dial = s.node.dial.bind(s.node)
    s.node.dial = ((id: PeerId) => (at.push(Date.now()), dial(id))) as Libp2p['dial']
    const r = new Redialer(log, () => undefined)
    r.attach(s.node)
    r.remember(p!, [conn(TCP)])
    for (let i = 0; i < REDIAL_FRESH_ATTEMPTS + 2; i++)
      s.answers.push(named('ConnectionFailedError'))
    r.lost(p!)
    await vi.advanceTimersByTimeAsync(10 * 60_000)
    const gaps = at.slice(1).map((t, i) => t - at[i]!)
    expect(gaps.length).toBeGreaterThan(REDIAL_FRESH_ATTEMPTS)
    // the jitter is ± 25 %
    expect(Math.max(...gaps.slice(0, REDIAL_FRESH_ATTEMPTS - 1))).toBeLessThanOrEqual(
      REDIAL_FRESH_MAX_MS * 1.25,
    )
    expect(gaps[REDIAL_FRESH_ATTEMPTS - 1]).toBeGreaterThanOrEqual(REDIAL_FRESH_MAX_MS * 2 * 0.75)
    r.detach()
  })

  it('[RDL6] a fresh redial whose connection does not open (its SYNs dropped) gives up after REDIAL_FRESH_DIAL_TIMEOUT_MS; one that is upgrading does not', async () => {
    const [p, q] = await peerIds(2)
    const signals = new Map<string, AbortSignal[]>()
    const node = {
      getConnections: () => [],
      dial: (id: PeerId, o: { signal: AbortSignal; onProgress: (e: { type: string }) => void }) => {
        const key = id.toString()
        signals.set(key, [...(signals.get(key) ?? []), o.signal])
        // q's connection opens at once and its handshake never ends
        if (key === q) o.onProgress({ type: 'upgrader:encrypt-outbound-connection' })
        return new Promise((_, reject) =>
          o.signal.addEventListener('abort', () => reject(o.signal.reason as Error)),
        )
      },
    } as unknown as Libp2p
    const r = new Redialer(log, () => undefined)
    r.attach(node)
    r.remember(p!, [conn(TCP)])
    r.remember(q!, [conn(TCP)])
    const lostAt = Date.now()
    r.lost(p!)
    r.lost(q!)
    await vi.waitFor(() => expect(signals.get(p!)).toHaveLength(2), {
      timeout: DIAL_TIMEOUT_MS * 2,
    })
    const [first] = signals.get(p!)!
    expect((first!.reason as Error).name).toBe('TimeoutError')
    expect((first!.reason as Error).message).toContain('no connection within')
    // the first dial waited 500 ms ± 25 % and gave up after the fresh timeout, not the full one
    expect(Date.now() - lostAt).toBeGreaterThanOrEqual(REDIAL_FRESH_DIAL_TIMEOUT_MS)
    expect(Date.now() - lostAt).toBeLessThan(DIAL_TIMEOUT_MS)
    // q's dial opened its connection: it is still waiting for its handshake
    expect(signals.get(q!)).toHaveLength(1)
    expect(signals.get(q!)![0]!.aborted).toBe(false)
    r.detach()
    expect(signals.get(q!)![0]!.aborted).toBe(true)
  })

  it('[RDL3] never redialled: a peer not ours, only relayed or WebRTC, forgotten (evicted, refused us), vetoed (refused by us), or back by itself', async () => {
    vi.useFakeTimers()
    const [stranger, relayed, webrtc, evicted, refused, back] = await peerIds(6)
    const s = stubNode()
    const r = new Redialer(log, (peer) => (peer === refused ? 'refused by us' : undefined))
    r.attach(s.node)
    r.remember(relayed!, [conn(`${TCP}/p2p/${back}/p2p-circuit`, false)])
    r.remember(webrtc!, [conn('/ip4/10.0.0.3/udp/1/webrtc-direct')])
    for (const p of [evicted, refused, back]) r.remember(p!, [conn(TCP)])
    r.forget(evicted!)
    for (const p of [stranger, relayed, webrtc, evicted, refused, back]) r.lost(p!)
    s.connected.add(back!) // it dialled us before our timer fired
    await vi.advanceTimersByTimeAsync(60 * 60_000)
    expect(s.dials).toEqual([])
    // detached: a lost peer waits for nothing
    r.remember(back!, [conn(TCP)])
    s.connected.clear()
    r.lost(back!)
    r.detach()
    await vi.advanceTimersByTimeAsync(60 * 60_000)
    expect(s.dials).toEqual([])
  })
})

describe('redial on libp2p over TCP', () => {
  const nets: PeerNet[] = []
  const proxies: CutProxy[] = []
  afterEach(async () => {
    for (const p of proxies.splice(0)) await p.close()
    for (const net of nets.splice(0)) await net.stop()
  })

  async function spawn(
    org: FakeOrg,
    name: string,
    init: Partial<Libp2pNetInit> = {},
  ): Promise<PeerNet> {
    const net = await createLibp2pNet({
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      bulk: false,
      logPrefix: name,
      admission: org.member(name),
      ...init,
    })
    nets.push(net)
    await net.start()
    return net
  }

  /** `b` dials `a` through a relay the test can cut; resolves once both are admitted. */
  async function linked(a: PeerNet, b: PeerNet): Promise<CutProxy> {
    const proxy = await cutProxy(a.addresses().find((x) => x.includes('/tcp/'))!)
    proxies.push(proxy)
    await b.dial(proxy.addr)
    await until(() => {
      expect(a.peers()).toContain(b.peerId)
      expect(b.peers()).toContain(a.peerId)
    })
    return proxy
  }

  it('[REDIAL1] admitted peers whose link is reset dial each other again by themselves, and gossip flows again', async () => {
    const org = new FakeOrg()
    const a = await spawn(org, 'a')
    const b = await spawn(org, 'b')
    const got: NetMessage[] = []
    a.subscribe('t', (m) => got.push(m))
    b.subscribe('t', () => undefined)
    const proxy = await linked(a, b)
    await until(() => expect(b.topicPeers('t')).toContain(a.peerId))

    const lostA = nextPeers(a, (p) => !p.includes(b.peerId))
    const lostB = nextPeers(b, (p) => !p.includes(a.peerId))
    const backA = lostA.then(() => nextPeers(a, (p) => p.includes(b.peerId)))
    const backB = lostB.then(() => nextPeers(b, (p) => p.includes(a.peerId)))
    proxy.cut()
    await Promise.all([lostA, lostB])
    await Promise.all([backA, backB])
    // admitted again (each verified the other twice), and b gossips to a on the new link
    expect(org.verified.filter((v) => v.peer === b.peerId).length).toBeGreaterThanOrEqual(2)
    await until(() => expect(b.topicPeers('t')).toContain(a.peerId))
    await b.publish('t', text('after the cut'))
    await until(() =>
      expect(got.map((m) => new TextDecoder().decode(m.data))).toContain('after the cut'),
    )
  })

  it('[REDIAL2] a revoked peer we evict is not redialled by us; its own redial is refused', async () => {
    const org = new FakeOrg()
    const a = await spawn(org, 'a')
    const b = await spawn(org, 'b')
    await linked(a, b)
    const checks = (): number => org.verified.filter((v) => v.peer === b.peerId).length
    const before = checks()
    org.valid.delete('b')
    await a.evict(b.peerId)
    // b lost a and redials it (a link cut, as far as b knows): a checks its proof again, refuses
    // it and keeps it out. (Whether b hears the verdict before the cut is a race of its own.)
    await until(() => expect(checks()).toBeGreaterThan(before))
    await until(() => expect(b.peers()).toEqual([]))
    expect(a.peers()).toEqual([])
  })

  it('[REDIAL3] a serving peer whose proof comes late after the cut is not refused: it is redialled until it is back', async () => {
    const org = new FakeOrg()
    const member = org.member('a')
    // a's proof after the cut is held (a sick link) until the test ends; any later one is on time
    let proofs = 0
    let release = (): void => undefined
    const held = new Promise<void>((resolve) => (release = resolve))
    const a = await spawn(org, 'a', {
      admission: {
        async proof() {
          if (++proofs === 2) await held
          return member.proof()
        },
        verify: (peer, proof, options) => member.verify(peer, proof, options),
      },
    })
    // b listens nowhere, like a browser: a cannot redial it, b alone gets the link back
    const b = await spawn(org, 'b', { listen: [] })
    try {
      const proxy = await linked(a, b)
      const refusals: AdmissionRefusal[] = []
      for (const n of [a, b]) n.onRefused((r) => refusals.push(r))
      const lost = nextPeers(b, (p) => !p.includes(a.peerId))
      const back = lost.then(() => nextPeers(b, (p) => p.includes(a.peerId)))
      proxy.cut()
      await lost
      // b's first redial times out on a's late proof, and b redials again: a's next proof admits it
      await back
      await until(() => expect(a.peers()).toEqual([b.peerId]))
      expect(proofs).toBeGreaterThanOrEqual(3)
      expect(refusals).toEqual([])
    } finally {
      release()
    }
  })
})
