/**
 * Admission on real libp2p (TCP 127.0.0.1) against peers that do not play by the rules: a raw
 * gossipsub node that subscribes and publishes without proving anything, a raw node that keeps
 * connecting without a proof, and raw nodes that send oversized, garbage, never-ending or repeated
 * proofs or open many connections.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeLength } from '../../src/net/frames.ts'
import { createLibp2pNet, type Libp2pNetInit } from '../../src/net/libp2p.ts'
import { ADMISSION_TIMEOUT_STRIKES } from '../../src/net/constants.ts'
import {
  ADMIT_PROTOCOL,
  MAX_PROOF_BYTES,
  type AdmissionRefusal,
  type NetMessage,
  type PeerNet,
} from '../../src/net/index.ts'
import { FakeOrg, bytes, collect, firstAddress, text, until } from './helpers.ts'

const LOOPBACK_TCP = '/ip4/127.0.0.1/tcp/0'

describe('admission on libp2p against hostile peers', () => {
  const nets: PeerNet[] = []
  const raws: Libp2p[] = []
  afterEach(async () => {
    for (const raw of raws.splice(0)) await raw.stop()
    for (const net of nets.splice(0)) await net.stop()
  })
  async function net(init: Libp2pNetInit): Promise<PeerNet> {
    const n = await createLibp2pNet({ mdns: false, listen: [LOOPBACK_TCP], ...init })
    nets.push(n)
    await n.start()
    return n
  }
  /** A libp2p node that speaks gossipsub (or nothing) but never proves itself. */
  async function raw(withGossip: boolean): Promise<Libp2p<{ pubsub?: GossipSub }>> {
    const node = await createLibp2p({
      addresses: { listen: [LOOPBACK_TCP] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        ...(withGossip
          ? { pubsub: gossipsub({ globalSignaturePolicy: 'StrictNoSign', floodPublish: true }) }
          : {}),
      },
    })
    raws.push(node)
    return node
  }
  /** Resolves when `node` has no connection to `peer` left. */
  function disconnected(node: Libp2p, peer: string): Promise<void> {
    return until(() => {
      expect(node.getConnections().filter((c) => c.remotePeer.toString() === peer)).toEqual([])
    }, 20_000)
  }

  it('an unproven gossipsub subscriber gets nothing (flood publish, mesh, IHAVE) and gives nothing', async () => {
    const org = new FakeOrg()
    const a = await net({ admission: org.member('a') })
    const b = await net({ admission: org.member('b') })
    await a.dial(firstAddress(b))
    await until(() => expect(a.peers()).toEqual([b.peerId]))
    const atA: NetMessage[] = []
    const atB: NetMessage[] = []
    a.subscribe('hostile', (m) => atA.push(m))
    b.subscribe('hostile', (m) => atB.push(m))
    await until(() => expect(a.topicPeers('hostile')).toEqual([b.peerId]))

    const rogue = await raw(true)
    const pubsub = rogue.services.pubsub as GossipSub
    const atRogue: unknown[] = []
    pubsub.addEventListener('gossipsub:message', (evt) => atRogue.push(evt.detail))
    pubsub.subscribe('hostile')
    await rogue.dial(multiaddr(firstAddress(a)))
    // Until a gives up on the rogue (no proof within the admission timeout, ~5 s), everyone
    // publishes: a floods its own messages, b's are forwarded by a and advertised in IHAVEs at
    // every heartbeat (1 s), the rogue publishes as if it belonged.
    let inboundGossip = 0
    let i = 0
    const gone = disconnected(rogue, a.peerId)
    let over = false
    void gone.finally(() => (over = true))
    while (!over && i < 200) {
      i++
      await a.publish('hostile', text(`a ${i}`))
      await b.publish('hostile', text(`b ${i}`))
      await pubsub.publish('hostile', text(`rogue ${i}`)).catch(() => undefined)
      for (const conn of rogue.getConnections())
        inboundGossip += conn.streams.filter(
          (s) => s.direction === 'inbound' && s.protocol.startsWith('/meshsub'),
        ).length
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await gone
    expect(i).toBeGreaterThan(10)
    expect(atRogue).toEqual([])
    expect(inboundGossip).toBe(0)
    expect(
      atA.map((m) => new TextDecoder().decode(m.data)).filter((s) => s.startsWith('rogue')),
    ).toEqual([])
    await until(() => expect(atB).toHaveLength(i))
    expect(atB.every((m) => m.from === a.peerId)).toBe(true)

    expect(a.peers()).toEqual([b.peerId])
  })

  it('a stranger that keeps connecting without a proof is kept out after ADMISSION_TIMEOUT_STRIKES timeouts in a row', async () => {
    const org = new FakeOrg()
    const a = await net({ admission: org.member('a') })
    const rogue = await raw(false)
    // a proves itself on every connection it lets in: count its proofs, answer none
    let proofs = 0
    await rogue.handle(ADMIT_PROTOCOL, (stream) => {
      proofs++
      stream.abort(new Error('no verdict'))
    })
    // A late proof is no offence: each time the rogue is let in, and cut off at the deadline…
    for (let strike = 1; strike <= ADMISSION_TIMEOUT_STRIKES; strike++) {
      await rogue.dial(multiaddr(firstAddress(a)))
      await until(() => expect(proofs).toBe(strike))
      await disconnected(rogue, a.peerId)
    }
    // …until it has struck out: then it is refused before a proves anything to it.
    await rogue.dial(multiaddr(firstAddress(a))).catch(() => undefined)
    await disconnected(rogue, a.peerId)
    expect(proofs).toBe(ADMISSION_TIMEOUT_STRIKES)
    expect(a.peers()).toEqual([])
    // Members still get in.
    const b = await net({ admission: org.member('b') })
    await b.dial(firstAddress(a))
    await until(() => expect(a.peers()).toEqual([b.peerId]))
  })

  it('oversized, garbage, endless and repeated proofs and many connections are dropped; members still get in', async () => {
    const org = new FakeOrg()
    const a = await net({ admission: org.member('a') })
    const target = multiaddr(firstAddress(a))
    const send = async (node: Libp2p, payload: Uint8Array, close: boolean): Promise<void> => {
      const stream = await node.dialProtocol(target, ADMIT_PROTOCOL)
      stream.send(payload)
      if (close) await stream.close().catch(() => undefined)
    }
    const [big, garbage, slow, flood, many] = await Promise.all(
      Array.from({ length: 5 }, () => raw(false)),
    )
    if (!big || !garbage || !slow || !flood || !many) throw new Error('unreachable')
    const attacks = [
      // A proof one byte over 64 KiB.
      send(big, concat(encodeLength(MAX_PROOF_BYTES + 1), bytes(MAX_PROOF_BYTES + 1)), true),
      // Bytes that are no frame at all (a length prefix that never ends).
      send(garbage, new Uint8Array(40).fill(0xff), true),
      // The start of a frame, then silence (slow loris).
      send(slow, concat(encodeLength(1000), bytes(10)), false),
      // Fifty proof streams at once.
      Promise.all(
        Array.from({ length: 50 }, (_, k) =>
          send(flood, text(`member:nobody-${k}`), true).catch(() => undefined),
        ),
      ),
      // Ten connections at once.
      Promise.all(
        Array.from({ length: 10 }, () => many.dial(target, { force: true }).catch(() => undefined)),
      ),
    ]
    await Promise.all(attacks.map((p) => p.catch(() => undefined)))
    for (const node of [big, garbage, slow, flood, many]) await disconnected(node, a.peerId)
    expect(a.peers()).toEqual([])

    // The node carries on: a member is admitted and served.
    const b = await net({ admission: org.member('b') })
    a.handle(async function* () {
      yield text('welcome')
    })
    await b.dial(firstAddress(a))
    expect(await collect(b.request(a.peerId, text('hi')))).toEqual([text('welcome')])
    expect(a.peers()).toEqual([b.peerId])
  })

  it('a lying verifier: a reason that is not UTF-8 or holds controls is dropped (code 0), an oversized verdict is no verdict; the prover carries on', async () => {
    const org = new FakeOrg()
    const a = await net({ admission: org.member('a') })
    const heard: AdmissionRefusal[] = []
    a.onRefused((r) => heard.push(r))
    const answers = [
      Uint8Array.of(0, 3, 0xff, 0xfe),
      concat(Uint8Array.of(0, 3), text('see\u202Egro.live')),
      concat(Uint8Array.of(0, 3), bytes(1_000)),
    ]
    const liars = await Promise.all(answers.map(() => raw(false)))
    for (const [k, liar] of liars.entries()) {
      await liar.handle(ADMIT_PROTOCOL, async (stream) => {
        const answer = answers[k]!
        stream.send(concat(encodeLength(answer.byteLength), answer))
        await stream.close().catch(() => undefined)
      })
      await a.dial(liar.getMultiaddrs()[0]!.toString()).catch(() => undefined)
    }
    const [utf8, controls, oversized] = liars.map((l) => l.peerId.toString())
    await until(() =>
      expect(heard).toEqual(
        expect.arrayContaining([
          { peer: utf8, code: 0, reason: '' },
          { peer: controls, code: 0, reason: '' },
        ]),
      ),
    )
    // none of them proved itself: a cuts each off (the oversized verdict told it nothing)
    for (const liar of liars) await disconnected(liar, a.peerId)
    expect(heard.map((r) => r.peer)).not.toContain(oversized)
    expect(heard).toHaveLength(2)
    const b = await net({ admission: org.member('b') })
    await b.dial(firstAddress(a))
    await until(() => expect(a.peers()).toEqual([b.peerId]))
  })

  it('without the network key nothing connects over WebSocket; with it, members do', async () => {
    const key = new Uint8Array(32).fill(7)
    const org = new FakeOrg()
    const ws = ['/ip4/127.0.0.1/tcp/0/ws']
    const server = await net({ listen: ws, networkKey: key, admission: org.member('server') })
    const addr = server.addresses().find((x) => x.includes('/ws')) ?? ''
    const member = await net({ networkKey: key, admission: org.member('member') })
    const keyless = await net({ admission: org.member('keyless') })
    const wrongKey = await net({
      networkKey: new Uint8Array(32).fill(8),
      admission: org.member('w'),
    })
    await member.dial(addr)
    await until(() => expect(server.peers()).toEqual([member.peerId]))
    const errors = await Promise.all(
      [keyless, wrongKey].map((stranger) =>
        stranger.dial(addr).then(
          () => new Error('connected'),
          (e: Error) => e,
        ),
      ),
    )
    for (const err of errors) expect(err.name).toBe('PeerUnreachableError')
    expect(server.peers()).toEqual([member.peerId])
  })
})

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}
