/**
 * The PeerNet contract: every implementation (memory hub, libp2p on each transport) runs these
 * cases. Case ids ([NET1] …) are stable: cite them in bug reports and commits.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { registerAdmissionCases } from './admission.contract.ts'
import { registerLifecycleCases } from './lifecycle.contract.ts'
import { registerRequestCases } from './request.contract.ts'
import {
  MAX_FRAME_BYTES,
  type NetMessage,
  type PeerIdString,
  type PeerNet,
} from '../../src/net/index.ts'
import {
  bytes,
  collect,
  firstAddress,
  rejection,
  sameBytes,
  text,
  until,
  type PeerNetFactory,
} from './helpers.ts'

export type { PeerNetFactory }

export function registerPeerNetContract(name: string, factory: PeerNetFactory): void {
  describe(`PeerNet contract: ${name}`, () => {
    afterEach(() => factory.teardown())

    /** Subscribes and records messages; waits until `publisher` sees every subscriber. */
    async function subscribed(topic: string, publisher: PeerNet, subscribers: PeerNet[]) {
      const got = new Map<PeerIdString, NetMessage[]>()
      const offs = subscribers.map((net) => {
        got.set(net.peerId, [])
        return net.subscribe(topic, (msg) => got.get(net.peerId)?.push(msg))
      })
      await until(() => expect(publisher.topicPeers(topic)).toHaveLength(subscribers.length))
      return { got, offs }
    }

    it('[NET1] publish reaches each subscriber once', async () => {
      const [a, b, c] = (await factory.setup(3)) as [PeerNet, PeerNet, PeerNet]
      const ownEcho: NetMessage[] = []
      a.subscribe('t1', (msg) => ownEcho.push(msg))
      const { got } = await subscribed('t1', a, [b, c])

      expect(await a.publish('t1', text('one'))).toBe(2)
      expect(await a.publish('t1', text('two'))).toBe(2)
      await until(() => {
        for (const net of [b, c]) expect(got.get(net.peerId)).toHaveLength(2)
      })
      // A later message on another topic has arrived, so any duplicate would have too.
      const { got: barrier } = await subscribed('t1-barrier', a, [b, c])
      await a.publish('t1-barrier', text('barrier'))
      await until(() => {
        for (const net of [b, c]) expect(barrier.get(net.peerId)).toHaveLength(1)
      })
      for (const net of [b, c]) {
        const msgs = got.get(net.peerId) ?? []
        expect(msgs.map((m) => new TextDecoder().decode(m.data)).sort()).toEqual(['one', 'two'])
        for (const m of msgs) expect(m.topic).toBe('t1')
      }
      expect(ownEcho).toHaveLength(0)
    })

    it('[NET1b] several callbacks on one topic each get every message; nobody listening is not an error', async () => {
      const [a, b] = (await factory.setup(2)) as [PeerNet, PeerNet]
      expect(await a.publish('t1b-nobody', text('into the void'))).toBe(0)
      const first: NetMessage[] = []
      const second: NetMessage[] = []
      b.subscribe('t1b', (msg) => first.push(msg))
      b.subscribe('t1b', (msg) => second.push(msg))
      await until(() => expect(a.topicPeers('t1b')).toEqual([b.peerId]))
      expect(await a.publish('t1b', text('hello'))).toBe(1)
      await until(() => expect(first).toHaveLength(1))
      await until(() => expect(second).toHaveLength(1))
      expect(first[0]?.from).toBe(a.peerId)
    })

    it('[NET2] unsubscribe stops delivery', async () => {
      const [a, b] = (await factory.setup(2)) as [PeerNet, PeerNet]
      const kept: NetMessage[] = []
      const dropped: NetMessage[] = []
      const offDropped = b.subscribe('t2', (msg) => dropped.push(msg))
      const offKept = b.subscribe('t2', (msg) => kept.push(msg))
      await until(() => expect(a.topicPeers('t2')).toHaveLength(1))

      await a.publish('t2', text('m1'))
      await until(() => expect(kept).toHaveLength(1))
      offDropped()
      offDropped() // idempotent
      await a.publish('t2', text('m2'))
      await until(() => expect(kept).toHaveLength(2))
      expect(dropped).toHaveLength(1)

      offKept()
      await until(() => expect(a.topicPeers('t2')).toHaveLength(0))
      expect(await a.publish('t2', text('m3'))).toBe(0)
      expect(kept).toHaveLength(2)
    })

    it('[NET4] oversize publish/frame rejected with FrameTooLargeError', async () => {
      const [a, b] = (await factory.setup(2)) as [PeerNet, PeerNet]
      const big = new Uint8Array(MAX_FRAME_BYTES + 1)
      expect((await rejection(a.publish('t4', big))).name).toBe('FrameTooLargeError')
      // Exactly the cap still travels.
      const { got } = await subscribed('t4', a, [b])
      const largest = bytes(MAX_FRAME_BYTES, 4)
      expect(await a.publish('t4', largest)).toBe(1)
      await until(() => expect(got.get(b.peerId)).toHaveLength(1))
      expect(sameBytes(got.get(b.peerId)?.[0]?.data, largest)).toBe(true)
      expect((await rejection(collect(a.request(b.peerId, big)))).name).toBe('FrameTooLargeError')

      b.handle(async function* () {
        yield text('fine')
        yield big
      })
      const received: Uint8Array[] = []
      const err = await rejection(
        (async () => {
          for await (const frame of a.request(b.peerId, text('q'))) received.push(frame)
        })(),
      )
      expect(err.name).toBe('ResponseAbortedError')
      expect(received).toEqual([text('fine')])

      // Both nodes carry on.
      b.handle(async function* () {
        yield text('still here')
      })
      expect(await collect(a.request(b.peerId, text('q')))).toEqual([text('still here')])
    })

    it('[NET5] throwing handler/subscriber does not crash the node', async () => {
      const [a, b] = (await factory.setup(2)) as [PeerNet, PeerNet]
      const good: NetMessage[] = []
      b.subscribe('t5', () => {
        throw new Error('subscriber bug')
      })
      b.subscribe('t5', async () => {
        await Promise.resolve()
        throw new Error('async subscriber bug')
      })
      b.subscribe('t5', (msg) => good.push(msg))
      await until(() => expect(a.topicPeers('t5')).toHaveLength(1))
      await a.publish('t5', text('m1'))
      await a.publish('t5', text('m2'))
      await until(() => expect(good).toHaveLength(2))

      b.handle(async function* () {
        yield text('1')
        yield text('2')
        throw new Error('handler bug')
      })
      const received: Uint8Array[] = []
      const err = await rejection(
        (async () => {
          for await (const frame of a.request(b.peerId, text('q'))) received.push(frame)
        })(),
      )
      expect(err.name).toBe('ResponseAbortedError')
      expect(received).toEqual([text('1'), text('2')])

      // A handler that throws before yielding anything, and one that is not even a generator.
      b.handle(() => {
        throw new Error('sync handler bug')
      })
      expect((await rejection(collect(a.request(b.peerId, text('q'))))).name).toBe(
        'ResponseAbortedError',
      )

      b.handle(async function* (req) {
        yield req
      })
      expect(await collect(a.request(b.peerId, text('again')))).toEqual([text('again')])
      await a.publish('t5', text('m3'))
      await until(() => expect(good).toHaveLength(3))
    })

    it('[NET9] an identical payload republished on a topic is one message', async () => {
      const [a, b] = (await factory.setup(2)) as [PeerNet, PeerNet]
      const { got } = await subscribed('t9', a, [b])
      expect(await a.publish('t9', text('same'))).toBe(1)
      expect(await a.publish('t9', text('same'))).toBe(0)
      expect(await a.publish('t9', text('different'))).toBe(1)
      await until(() => expect(got.get(b.peerId)).toHaveLength(2))
      // The topic is part of the message id: the same bytes elsewhere are a new message.
      const { got: other } = await subscribed('t9-other', a, [b])
      expect(await a.publish('t9-other', text('same'))).toBe(1)
      await until(() => expect(other.get(b.peerId)).toHaveLength(1))
      expect(got.get(b.peerId)).toHaveLength(2)
    })

    it('[NET12] a message a relay does not accept is neither delivered there nor forwarded', async () => {
      // a — b — c in a line: what c gets from a, b has forwarded
      const a = await factory.spawn({})
      const b = await factory.spawn({})
      const c = await factory.spawn({})
      await a.dial(firstAddress(b))
      await c.dial(firstAddress(b))
      const decode = (m: NetMessage): string => new TextDecoder().decode(m.data)
      const atB: string[] = []
      const atC: string[] = []
      const asked: string[] = []
      b.subscribe('t10', (m) => atB.push(decode(m)), {
        accept: (m) => {
          asked.push(`${decode(m)} from ${m.from === a.peerId ? 'a' : '?'}`)
          return !decode(m).startsWith('refused')
        },
      })
      b.subscribe('t10', () => undefined) // a subscription without a check takes no part
      c.subscribe('t10', (m) => atC.push(decode(m)))
      await until(() => expect(a.topicPeers('t10')).toEqual([b.peerId]))
      // until b has c in its mesh: probes until one crosses
      let probe = 0
      await until(async () => {
        await a.publish('t10', text(`probe ${++probe}`))
        expect(atC.length).toBeGreaterThan(0)
      })
      await a.publish('t10', text('refused'))
      await a.publish('t10', text('after'))
      await until(() => expect(atC).toContain('after'))
      await until(() => expect(atB).toContain('after'))
      expect(atB).not.toContain('refused')
      expect(atC).not.toContain('refused')
      expect(asked).toContain('refused from a')
    })

    it('[NET14] onSubscribed tells of a peer following one of our topics: on a new link, and when it joins one later', async () => {
      const a = await factory.spawn({})
      const b = await factory.spawn({})
      const told: string[] = []
      const name = (p: PeerIdString): string => (p === b.peerId ? 'b' : p)
      const off = a.onSubscribed((peer, topic) => told.push(`${name(peer)} ${topic}`))
      a.subscribe('t14-shared', () => undefined)
      a.subscribe('t14-late', () => undefined)
      b.subscribe('t14-not-ours', () => undefined)
      b.subscribe('t14-shared', () => undefined)
      await a.dial(firstAddress(b))
      await until(() => expect(told).toEqual(['b t14-shared']))
      b.subscribe('t14-late', () => undefined)
      await until(() => expect(told).toEqual(['b t14-shared', 'b t14-late']))
      // a topic only b follows is never told: b's next subscription, one a follows, comes after it
      a.subscribe('t14-late-2', () => undefined)
      b.subscribe('t14-not-ours-2', () => undefined)
      b.subscribe('t14-late-2', () => undefined)
      await until(() => expect(told).toHaveLength(3))
      off()
      a.subscribe('t14-late-3', () => undefined)
      b.subscribe('t14-late-3', () => undefined)
      await until(() => expect(a.topicPeers('t14-late-3')).toEqual([b.peerId]))
      expect(told).toEqual(['b t14-shared', 'b t14-late', 'b t14-late-2'])
    })

    registerRequestCases((n) => factory.setup(n))
    registerLifecycleCases((n) => factory.setup(n))
    registerAdmissionCases(factory)
  })
}
