/**
 * Parley's private-network protector (src/net/pnet.ts) against the reference: the keystream equals
 * the `xsalsa20` package's (what `@libp2p/pnet` uses) however the bytes are chunked, on Node's
 * Salsa20 and on browsers'; real libp2p nodes on TCP, one with our protector and one with stock
 * `@libp2p/pnet`, connect and move data both ways under the same key — and never under different
 * keys; and the browsers' protector keeps a link up where `@libp2p/pnet`'s ran out of memory.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { ComponentLogger, ConnectionProtector, Libp2p, Logger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import xsalsa20 from 'xsalsa20'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { privateNetwork } from '../../src/net/pnet.ts'
import { loadProtector } from '../../src/net/transports.ts'
import { XSalsa20Stream, nobleSalsa20, type SalsaXor } from '../../src/net/xsalsa20.ts'
import { sodiumSalsa20 } from '../../src/net/xsalsa20-native.ts'

const SEED = 20_261_203
const ECHO = '/parley-test/echo/1.0.0'

/** xorshift32. */
function prng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1
  return (n) => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) % n
  }
}

const bytes = (rand: (n: number) => number, n: number): Uint8Array =>
  Uint8Array.from({ length: n }, () => rand(256))

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

/**
 * Where `a` and `b` first differ (-1: equal). vitest's `toEqual` walks a typed array element by
 * element and takes a minute over a few megabytes.
 */
const firstDifference = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.byteLength, b.byteLength)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return a.byteLength === b.byteLength ? -1 : n
}

/** The Salsa20s a stream runs on: Node peers' and browsers'. */
const XORS: [string, SalsaXor][] = [
  ['libsodium', sodiumSalsa20],
  ['noble', nobleSalsa20],
]

describe.each(XORS)(`XSalsa20Stream on %s (seed ${SEED})`, (_, xor) => {
  it('[PNET1] equals the xsalsa20 package over any chunking', () => {
    const rand = prng(SEED)
    const key = bytes(rand, 32)
    const nonce = bytes(rand, 24)
    const data = bytes(rand, 200_003)
    const reference = xsalsa20(nonce, key).update(data)
    for (let trial = 0; trial < 20; trial++) {
      const stream = new XSalsa20Stream(key, nonce, xor)
      const out: Uint8Array[] = []
      for (let at = 0; at < data.byteLength;) {
        // Mostly tiny pieces (a 12-byte yamux header, odd Noise frames), some large.
        const n = Math.min(data.byteLength - at, rand(8) === 0 ? rand(70_000) : rand(130))
        const piece = data.subarray(at, at + n)
        if (trial % 2 === 0) out.push(stream.update(piece))
        else {
          // In place, as the protector encrypts what it sends.
          const inPlace = piece.slice()
          stream.update(inPlace, inPlace)
          out.push(inPlace)
        }
        at += n
      }
      expect(firstDifference(concat(out), reference)).toBe(-1)
    }
  })

  it('[PNET2] carries the 64-bit block counter past 2^32 (256 GiB one way)', () => {
    const rand = prng(SEED + 1)
    const key = bytes(rand, 32)
    const nonce = bytes(rand, 24)
    const data = bytes(rand, 64 * 8 + 17)
    const firstBlock = 2 ** 32 - 3
    // The reference: the xsalsa20 package's WebAssembly state keeps the block counter as a
    // little-endian u64 at `_pointer` (node_modules/xsalsa20/index.js); set it there.
    const ref = xsalsa20(nonce, key) as unknown as {
      _xor: { _memory: Uint8Array; _pointer: number }
      update(input: Uint8Array): Uint8Array
    }
    new DataView(ref._xor._memory.buffer).setBigUint64(ref._xor._pointer, BigInt(firstBlock), true)
    const reference = ref.update(data)
    // In one call (the xor up to block 2^32 - 2, noble's core from there) and in pieces (past
    // 2^32 a piece starts in the high word).
    const whole = new XSalsa20Stream(key, nonce, xor)
    whole.seek(firstBlock * 64)
    expect(firstDifference(whole.update(data), reference)).toBe(-1)
    const pieces = new XSalsa20Stream(key, nonce, xor)
    pieces.seek(firstBlock * 64)
    const out = [100, 64, 1, 200, 64, 100].map((n, i, all) => {
      const at = all.slice(0, i).reduce((a, b) => a + b, 0)
      return pieces.update(data.subarray(at, at + n))
    })
    expect(firstDifference(concat(out), reference)).toBe(-1)
  })
})

/** A component logger that also records every `log.error` argument list. */
function recordingLogger(errors: unknown[][]): ComponentLogger {
  const base = defaultLogger()
  const wrap = (inner: Logger): Logger =>
    Object.assign((formatter: unknown, ...args: unknown[]) => inner(formatter, ...args), {
      enabled: inner.enabled,
      trace: inner.trace,
      error: (formatter: unknown, ...args: unknown[]) => {
        errors.push([formatter, ...args])
        inner.error(formatter, ...args)
      },
      newScope: (name: string) => wrap(inner.newScope(name)),
    })
  return { forComponent: (name) => wrap(base.forComponent(name)) }
}

const stockPnet = (key: Uint8Array): (() => ConnectionProtector) => {
  const hex = Array.from(key, (b) => b.toString(16).padStart(2, '0')).join('')
  return preSharedKey({ psk: new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${hex}`) })
}
const ours = (key: Uint8Array): (() => ConnectionProtector) =>
  privateNetwork({ key, xor: sodiumSalsa20 })

describe('private network on TCP: Parley protector and @libp2p/pnet', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()))
  })

  async function node(protector: () => ConnectionProtector, logger?: ComponentLogger) {
    const n = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionProtector: protector,
      ...(logger === undefined ? {} : { logger }),
    })
    nodes.push(n)
    // Echoes each stream back, honouring back-pressure.
    await n.handle(ECHO, async (stream) => {
      for await (const chunk of stream) {
        if (!stream.send(chunk)) await stream.onDrain()
      }
      await stream.close()
    })
    return n
  }

  async function echo(from: Libp2p, to: Libp2p, payload: Uint8Array): Promise<Uint8Array> {
    const stream = await from.dialProtocol(to.getMultiaddrs()[0]!, ECHO)
    const received: Uint8Array[] = []
    const done = (async () => {
      for await (const chunk of stream) received.push(chunk.subarray())
    })()
    for (let at = 0; at < payload.byteLength; at += 100_000) {
      if (!stream.send(payload.subarray(at, at + 100_000))) await stream.onDrain()
    }
    await stream.close()
    await done
    return concat(received)
  }

  const key = new Uint8Array(32).fill(5)
  const payload = bytes(prng(SEED + 2), 3 * 1024 * 1024 + 5)

  it('[PNET3] connect and exchange data both ways, whichever side dials', async () => {
    const a = await node(ours(key))
    const b = await node(stockPnet(key))
    expect(firstDifference(await echo(a, b, payload), payload)).toBe(-1)
    await a.hangUp(b.peerId)
    await vi.waitFor(() => expect(b.getConnections(a.peerId)).toEqual([]))
    expect(firstDifference(await echo(b, a, payload), payload)).toBe(-1)
    const c = await node(ours(key))
    expect(firstDifference(await echo(c, a, payload), payload)).toBe(-1)
  })

  it("[PNET5] a browser's protector keeps a link up through a large write and many small ones each way in turn", async () => {
    // @libp2p/pnet's WebAssembly xsalsa20 (what browsers ran) grew its memory again on every write
    // that followed one by the connection's other direction, once a large write had grown it: its
    // 64 MiB maximum came after a few hundred turns, and the link died with a RangeError.
    const browser = await node(await loadProtector(key, 'browser'))
    const peer = await node(ours(key))
    expect(firstDifference(await echo(browser, peer, payload), payload)).toBe(-1)
    const stream = await browser.dialProtocol(peer.getMultiaddrs()[0]!, ECHO)
    const replies = stream[Symbol.asyncIterator]()
    const ping = payload.subarray(0, 200)
    for (let turn = 0; turn < 1_500; turn++) {
      stream.send(ping)
      let got = 0
      while (got < ping.byteLength) {
        const next = await replies.next()
        if (next.done === true) throw new Error(`the echo ended at turn ${turn}`)
        got += next.value.byteLength
      }
    }
    await stream.close()
    expect(firstDifference(await echo(browser, peer, payload), payload)).toBe(-1)
  })

  it('[PNET4] a wrong key or none: no connection, NetworkKeyMismatchError logged, listener fine', async () => {
    const errors: unknown[][] = []
    const listener = await node(ours(key), recordingLogger(errors))
    const other = new Uint8Array(32).fill(6)
    const strangers = [await node(stockPnet(other)), await node(ours(other))]
    const open = await createLibp2p({
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
    })
    nodes.push(open)
    for (const stranger of [...strangers, open]) {
      await expect(stranger.dial(listener.getMultiaddrs()[0]!)).rejects.toThrow()
    }
    const mismatches = errors.flat().filter((e) => (e as Error).name === 'NetworkKeyMismatchError')
    expect(mismatches.length).toBeGreaterThanOrEqual(3)
    expect(listener.getConnections()).toEqual([])
    // Our dialer with the wrong key against a stock listener is refused too.
    const stockListener = await node(stockPnet(key))
    await expect(strangers[1]!.dial(stockListener.getMultiaddrs()[0]!)).rejects.toThrow()
    // And the listener still serves its own network.
    const friend = await node(stockPnet(key))
    expect(firstDifference(await echo(friend, listener, payload), payload)).toBe(-1)
  })
})
