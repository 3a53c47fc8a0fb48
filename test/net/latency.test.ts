/**
 * Publish → deliver latency between two TCP peers in one process (both share one event loop, so
 * this is an upper bound on what separate processes see). Prints the distribution; asserts only a
 * loose bound so that a loaded CI machine does not fail it.
 */
import { afterEach, expect, it } from 'vitest'
import type { PeerNet } from '../../src/net/index.ts'
import { libp2pFactory, until } from './helpers.ts'

const factory = libp2pFactory({ transports: 'node', listen: ['/ip4/127.0.0.1/tcp/0'] })
afterEach(() => factory.teardown())

it('publish → deliver latency between two TCP peers (200-byte messages)', async () => {
  const [a, b] = (await factory.setup(2)) as [PeerNet, PeerNet]
  let resolveNext: ((t: number) => void) | undefined
  b.subscribe('latency', () => resolveNext?.(performance.now()))
  await until(() => expect(a.topicPeers('latency')).toEqual([b.peerId]))

  const samples: number[] = []
  const payload = new Uint8Array(200)
  const view = new DataView(payload.buffer)
  for (let i = 0; i < 600; i++) {
    view.setUint32(0, i) // unique payloads: ids are content hashes
    const delivered = new Promise<number>((resolve) => (resolveNext = resolve))
    const start = performance.now()
    await a.publish('latency', payload)
    const end = await delivered
    if (i >= 100) samples.push(end - start) // the first hundred warm the JIT up
  }
  samples.sort((x, y) => x - y)
  const at = (q: number): number => samples[Math.floor(q * (samples.length - 1))] ?? NaN
  const [p50, p90, p99] = [at(0.5), at(0.9), at(0.99)]
  console.log(
    `latency ms over ${samples.length}: p50 ${p50.toFixed(3)} p90 ${p90.toFixed(3)} p99 ${p99.toFixed(3)}`,
  )
  expect(p50).toBeLessThan(10)
})
