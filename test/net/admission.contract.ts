/**
 * Contract cases for admission and network keys ([ADM*]), registered by `registerPeerNetContract`:
 * the memory hub and libp2p (memory transport and TCP) keep unadmitted peers out alike.
 */
import { expect, it } from 'vitest'
import type { AdmissionRefusal, NetMessage, PeerIdString, PeerNet } from '../../src/net/index.ts'
import {
  FakeOrg,
  collect,
  firstAddress,
  rejection,
  text,
  until,
  type PeerNetFactory,
} from './helpers.ts'

const decode = (m: NetMessage): string => new TextDecoder().decode(m.data)

export function registerAdmissionCases(factory: PeerNetFactory): void {
  /** Waits until `a` and `b` list each other as peers. */
  async function admitted(a: PeerNet, b: PeerNet): Promise<void> {
    await until(() => {
      expect(a.peers()).toContain(b.peerId)
      expect(b.peers()).toContain(a.peerId)
    })
  }

  /** Records messages on `topic` at each net. */
  function listen(topic: string, nets: PeerNet[]): Map<PeerIdString, NetMessage[]> {
    const got = new Map<PeerIdString, NetMessage[]>()
    for (const net of nets) {
      got.set(net.peerId, [])
      net.subscribe(topic, (msg) => got.get(net.peerId)?.push(msg))
    }
    return got
  }

  it('[ADM1] admitted peers exchange gossip and requests; each verified the other by peer id', async () => {
    const org = new FakeOrg()
    const a = await factory.spawn({ admission: org.member('a') })
    const b = await factory.spawn({ admission: org.member('b') })
    await a.dial(firstAddress(b))
    await admitted(a, b)
    expect(org.verified).toContainEqual({ peer: b.peerId, proof: 'member:b' })
    expect(org.verified).toContainEqual({ peer: a.peerId, proof: 'member:a' })

    const got = listen('adm1', [a, b])
    await until(() => expect(a.topicPeers('adm1')).toEqual([b.peerId]))
    await until(() => expect(b.topicPeers('adm1')).toEqual([a.peerId]))
    expect(await a.publish('adm1', text('a→b'))).toBe(1)
    expect(await b.publish('adm1', text('b→a'))).toBe(1)
    await until(() => expect(got.get(b.peerId)?.map(decode)).toEqual(['a→b']))
    await until(() => expect(got.get(a.peerId)?.map(decode)).toEqual(['b→a']))
    for (const net of [a, b])
      net.handle(async function* (req, from) {
        yield text(`${new TextDecoder().decode(req)} from ${from}`)
      })
    expect(await collect(a.request(b.peerId, text('q')))).toEqual([text(`q from ${a.peerId}`)])
    expect(await collect(b.request(a.peerId, text('q')))).toEqual([text(`q from ${b.peerId}`)])
    expect(a.connections().map((c) => c.peer)).toEqual([b.peerId])
  })

  it('[ADM2] a peer with an invalid proof gets nothing, gives nothing, and is cut off', async () => {
    const org = new FakeOrg()
    const a = await factory.spawn({ admission: org.member('a') })
    const b = await factory.spawn({ admission: org.member('b') })
    // The rogue admits everyone itself, but its own proof is not valid.
    const rogue = await factory.spawn({ admission: org.member('rogue', false) })
    await a.dial(firstAddress(b))
    await admitted(a, b)
    const got = listen('adm2', [a, b, rogue])
    const served: PeerIdString[] = []
    for (const net of [a, b, rogue])
      net.handle(async function* (_req, from) {
        served.push(from)
        yield text('answer')
      })

    await rogue.dial(firstAddress(a)).catch(() => undefined)
    await until(() => expect(org.verified.map((v) => v.proof)).toContain('member:rogue'))
    // A request the rogue sends is refused (it waits for an admission that never comes).
    expect((await rejection(collect(rogue.request(a.peerId, text('let me in'))))).name).toBe(
      'PeerUnreachableError',
    )
    expect((await rejection(collect(a.request(rogue.peerId, text('q'))))).name).toBe(
      'PeerUnreachableError',
    )
    expect(a.peers()).toEqual([b.peerId])
    expect(a.connections().map((c) => c.peer)).toEqual([b.peerId])
    expect(rogue.peers()).toEqual([])

    await until(() => expect(a.topicPeers('adm2')).toEqual([b.peerId]))
    expect(await rogue.publish('adm2', text('from the rogue'))).toBe(0)
    expect(await a.publish('adm2', text('for members'))).toBe(1)
    await until(() => expect(got.get(b.peerId)?.map(decode)).toEqual(['for members']))
    // A later message from b reaching a: anything the rogue managed to send would be there too.
    expect(await b.publish('adm2', text('barrier'))).toBe(1)
    await until(() => expect(got.get(a.peerId)?.map(decode)).toEqual(['barrier']))
    expect(got.get(rogue.peerId)).toEqual([])
    expect(served).not.toContain(rogue.peerId)
  })

  it('[ADM3] a peer that sends no proof at all is never admitted and is cut off', async () => {
    const org = new FakeOrg()
    const a = await factory.spawn({ admission: org.member('a') })
    const plain = await factory.spawn({})
    const served: PeerIdString[] = []
    a.handle(async function* (_req, from) {
      served.push(from)
      yield text('answer')
    })
    await plain.dial(firstAddress(a)).catch(() => undefined)
    // Its request waits for an admission that never comes: refused at once (hub), or cut off with
    // the peer when a gives up on its proof (libp2p, a few seconds). A late proof is no offence, so
    // a request sent after the cut-off would only connect and wait again.
    const failed = await rejection(collect(plain.request(a.peerId, text('q'))))
    expect(['PeerUnreachableError', 'ResponseAbortedError']).toContain(failed.name)
    // The plain peer believes itself connected until a gives up on its proof.
    await until(() => expect(plain.peers()).toEqual([]), 15_000)
    expect(a.peers()).toEqual([])
    expect(served).toEqual([])
  })

  it('[ADM4] evict cuts a peer off at once; without a valid proof it cannot come back', async () => {
    const org = new FakeOrg()
    const a = await factory.spawn({ admission: org.member('a') })
    const b = await factory.spawn({ admission: org.member('b') })
    await a.dial(firstAddress(b))
    await admitted(a, b)
    const gone: (readonly PeerIdString[])[] = []
    b.onPeers((peers) => gone.push(peers))

    org.valid.delete('b')
    await a.evict(b.peerId)
    expect(a.peers()).toEqual([])
    await until(() => expect(gone.at(-1)).toEqual([]))
    await b.dial(firstAddress(a)).catch(() => undefined)
    await until(() => expect(org.verified.filter((v) => v.proof === 'member:b')).toHaveLength(2))
    expect((await rejection(collect(b.request(a.peerId, text('q'))))).name).toBe(
      'PeerUnreachableError',
    )
    expect(a.peers()).toEqual([])
    await a.evict(b.peerId) // no longer connected: a no-op
  })

  it('[ADM5] readmitAll cuts off peers now refused, and lets in one whose proof became valid', async () => {
    const org = new FakeOrg()
    const a = await factory.spawn({ admission: org.member('a') })
    const b = await factory.spawn({ admission: org.member('b') })
    const c = await factory.spawn({ admission: org.member('c') })
    await a.dial(firstAddress(b))
    await a.dial(firstAddress(c))
    await admitted(a, b)
    await admitted(a, c)

    org.valid.delete('c')
    await a.readmitAll()
    await until(() => expect(a.peers()).toEqual([b.peerId]))
    await until(() => expect(c.peers()).toEqual([]))
    // Refused peers are kept out for a while, even with a valid proof by now: the connection is
    // refused (the dial may still resolve on TCP: Noise completes on the dialer's side before the
    // listener's gater sees who it is), and their proof is not even looked at.
    org.valid.add('c')
    const looked = org.verified.filter((v) => v.proof === 'member:c').length
    await c.dial(firstAddress(a)).catch(() => undefined)
    expect((await rejection(collect(c.request(a.peerId, text('q'))))).name).toBe(
      'PeerUnreachableError',
    )
    expect(a.peers()).toEqual([b.peerId])
    expect(org.verified.filter((v) => v.proof === 'member:c')).toHaveLength(looked)
    // …until what a knows changes: readmitAll re-verifies their last proof.
    await a.readmitAll()
    await c.dial(firstAddress(a))
    await admitted(a, c)
    expect(await collect(c.request(a.peerId, text('q'))).catch((err: Error) => err.name)).toBe(
      'ResponseAbortedError', // admitted: a has no handler, so the request reaches it and fails there
    )
  })

  it('[ADM6] a request to a peer still being admitted waits for the verdict', async () => {
    const org = new FakeOrg()
    let release = (): void => undefined
    const released = new Promise<void>((resolve) => (release = resolve))
    const slow = org.member('slow')
    const a = await factory.spawn({
      admission: {
        proof: slow.proof,
        verify: async (peer, proof, options) => {
          await released
          return slow.verify(peer, proof, options)
        },
      },
    })
    const b = await factory.spawn({ admission: org.member('b') })
    b.handle(async function* () {
      yield text('after admission')
    })
    await a.dial(firstAddress(b))
    const answer = collect(a.request(b.peerId, text('q')))
    await until(() => expect(org.verified.map((v) => v.proof)).toContain('member:slow'))
    expect(a.peers()).toEqual([])
    release()
    expect(await answer).toEqual([text('after admission')])
    await admitted(a, b)
  })

  it('[ADM7] nets with different network keys never connect', async () => {
    const key = (n: number): Uint8Array => new Uint8Array(32).fill(n)
    const x = await factory.spawn({ networkKey: key(1) })
    const y = await factory.spawn({ networkKey: key(1) })
    const z = await factory.spawn({ networkKey: key(2) })
    const open = await factory.spawn({})
    await x.dial(firstAddress(y))
    await until(() => expect(x.peers()).toEqual([y.peerId]))
    // On TCP each refused dial takes seconds (a wrong key turns the Noise handshake into noise,
    // which waits for bytes that never make sense until the upgrade times out): dial in parallel.
    const pairs = [
      [z, x],
      [x, z],
      [open, x],
      [x, open],
    ] as const
    const errors = await Promise.all(
      pairs.map(([from, to]) => rejection(from.dial(firstAddress(to)))),
    )
    for (const err of errors) expect(err.name).toBe('PeerUnreachableError')
    expect(x.peers()).toEqual([y.peerId])
    expect(z.peers()).toEqual([])
  })

  it('[ADM8] a refused peer is told why (code and reason) before it is cut off; without a reason, code 0', async () => {
    const org = new FakeOrg()
    const a = await factory.spawn({ admission: org.member('a') })
    const told = await factory.spawn({ admission: org.member('told', false) })
    const silent = await factory.spawn({ admission: org.member('silent', false) })
    const heard = new Map<PeerIdString, AdmissionRefusal[]>([
      [told.peerId, []],
      [silent.peerId, []],
    ])
    for (const n of [told, silent]) n.onRefused((r) => heard.get(n.peerId)?.push(r))
    const aHeard: AdmissionRefusal[] = []
    a.onRefused((r) => aHeard.push(r))

    org.reason = { code: 7, reason: 'invitation already used — ask again' }
    await told.dial(firstAddress(a)).catch(() => undefined)
    await until(() =>
      expect(heard.get(told.peerId)).toEqual([
        { peer: a.peerId, code: 7, reason: 'invitation already used — ask again' },
      ]),
    )
    await until(() => expect(told.peers()).toEqual([]))
    org.reason = undefined
    await silent.dial(firstAddress(a)).catch(() => undefined)
    await until(() =>
      expect(heard.get(silent.peerId)).toEqual([{ peer: a.peerId, code: 0, reason: '' }]),
    )
    await until(() => expect(silent.peers()).toEqual([]))
    expect(a.peers()).toEqual([])
    // the refusing side was not refused: it admitted nobody, but nobody refused it
    expect(aHeard).toEqual([])
  })
}
