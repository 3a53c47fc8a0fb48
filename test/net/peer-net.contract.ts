/**
 * The PeerNet contract: every implementation (memory hub, libp2p on each transport) runs these
 * cases. Case ids ([NET1] …) are stable: cite them in bug reports and commits.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { generateNetKey, peerIdOfKey } from '../../src/net/libp2p.ts'
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

    it('[NET3] request streams all frames in order', async () => {
      const [a, b] = (await factory.setup(2)) as [PeerNet, PeerNet]
      const sizes = [0, 1, 100, 65_536, 1_000_000, MAX_FRAME_BYTES, ...Array(50).fill(10)]
      const frames = sizes.map((n, i) => bytes(n as number, i + 1))
      const seen: { request: Uint8Array; from: PeerIdString }[] = []
      b.handle(async function* (request, from) {
        seen.push({ request, from })
        yield* frames
      })
      const response = await collect(a.request(b.peerId, text('give me everything')))
      expect(response.map((f) => f.byteLength)).toEqual(sizes)
      // toEqual walks typed arrays element by element: far too slow for 3 MiB.
      response.forEach((frame, i) => expect(sameBytes(frame, frames[i]), `frame ${i}`).toBe(true))
      expect(seen).toEqual([{ request: text('give me everything'), from: a.peerId }])

      // An empty answer and an empty request are valid.
      b.handle(async function* () {})
      expect(await collect(a.request(b.peerId, new Uint8Array(0)))).toEqual([])
      // Requests run concurrently.
      b.handle(async function* (request) {
        yield request
        yield request
      })
      const many = await Promise.all(
        Array.from({ length: 20 }, (_, i) => collect(a.request(b.peerId, bytes(10, i + 1)))),
      )
      many.forEach((r, i) => expect(r).toEqual([bytes(10, i + 1), bytes(10, i + 1)]))
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

    it('[NET6] onPeers reports connect and disconnect', async () => {
      const [a, b] = (await factory.setup(2)) as [PeerNet, PeerNet]
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

    it('[NET7] request to unknown peer rejects with PeerUnreachableError', async () => {
      const [a, b] = (await factory.setup(2)) as [PeerNet, PeerNet]
      b.handle(async function* () {
        yield text('x')
      })
      const stranger = peerIdOfKey(await generateNetKey())
      for (const peer of [stranger, 'not-a-peer-id' as PeerIdString, a.peerId]) {
        const err = await rejection(collect(a.request(peer, text('q'))))
        expect(err.name, String(peer)).toBe('PeerUnreachableError')
      }
      await b.stop()
      expect((await rejection(collect(a.request(b.peerId, text('q'))))).name).toBe(
        'PeerUnreachableError',
      )
    })

    it('[NET8] abort signal cancels request', async () => {
      const [a, b] = (await factory.setup(2)) as [PeerNet, PeerNet]
      let handlerAborted = 0
      b.handle(async function* (_req, _from, { signal }) {
        try {
          yield text('first')
          if (!signal.aborted)
            await new Promise((resolve) => signal.addEventListener('abort', resolve))
        } finally {
          if (signal.aborted) handlerAborted++
        }
      })

      const ac = new AbortController()
      const received: Uint8Array[] = []
      const err = await rejection(
        (async () => {
          for await (const frame of a.request(b.peerId, text('q'), { signal: ac.signal })) {
            received.push(frame)
            ac.abort()
          }
        })(),
      )
      expect(err.name).toBe('AbortError')
      expect(received).toEqual([text('first')])
      await until(() => expect(handlerAborted).toBe(1))

      // Already aborted: rejects at once.
      const pre = await rejection(
        collect(a.request(b.peerId, text('q'), { signal: AbortSignal.abort() })),
      )
      expect(pre.name).toBe('AbortError')

      // Breaking out of the loop cancels the handler too.
      for await (const frame of a.request(b.peerId, text('q'))) {
        expect(frame).toEqual(text('first'))
        break
      }
      await until(() => expect(handlerAborted).toBe(2))
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

    it('[NET10] stopped nets refuse work; a restarted net keeps its subscriptions', async () => {
      const [a, b] = (await factory.setup(2)) as [PeerNet, PeerNet]
      const got: NetMessage[] = []
      a.subscribe('t10', (msg) => got.push(msg))
      await a.stop()
      await a.stop() // idempotent
      expect(a.addresses()).toEqual([])
      expect((await rejection(a.publish('t10', text('x')))).name).toBe('NotStartedError')
      expect((await rejection(collect(a.request(b.peerId, text('x'))))).name).toBe(
        'NotStartedError',
      )
      expect((await rejection(a.dial(firstAddress(b)))).name).toBe('NotStartedError')

      await Promise.all([a.start(), a.start()])
      if (a.peers().length === 0) await a.dial(firstAddress(b))
      await until(() => expect(b.topicPeers('t10')).toEqual([a.peerId]))
      await b.publish('t10', text('after restart'))
      await until(() => expect(got).toHaveLength(1))
    })

    it('[NET11] addresses carry our peer id; dial resolves with the remote id', async () => {
      const [a, b] = (await factory.setup(2)) as [PeerNet, PeerNet]
      expect(a.addresses().length).toBeGreaterThan(0)
      for (const addr of a.addresses()) expect(addr.endsWith(`/p2p/${a.peerId}`)).toBe(true)
      expect(await a.dial(firstAddress(b))).toBe(b.peerId)
      expect((await rejection(a.dial('definitely not a multiaddr'))).name).toBe(
        'InvalidMultiaddrError',
      )
    })
  })
}
