/** Contract cases for `request`/`handle`, registered by `registerPeerNetContract`. */
import { expect, it } from 'vitest'
import { generateNetKey, peerIdOfKey } from '../../src/net/libp2p.ts'
import { MAX_FRAME_BYTES, type PeerIdString, type PeerNet } from '../../src/net/index.ts'
import { bytes, collect, rejection, sameBytes, text, until } from './helpers.ts'

export function registerRequestCases(setup: (n: number) => Promise<PeerNet[]>): void {
  it('[NET3] request streams all frames in order', async () => {
    const [a, b] = (await setup(2)) as [PeerNet, PeerNet]
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

  it('[NET13] 200 requests to one peer at once all get their answers', async () => {
    // A digest naming 200 rooms we lack schedules 200 pulls from one peer at once: past the peer's
    // cap on inbound streams they used to be refused; now they wait their turn.
    const [a, b] = (await setup(2)) as [PeerNet, PeerNet]
    let serving = 0
    let most = 0
    b.handle(async function* (request) {
      serving++
      most = Math.max(most, serving)
      try {
        // a slow answer (a pull reading history from disk): many requests are open at once
        await new Promise((resolve) => setTimeout(resolve, 20))
        yield request
      } finally {
        serving--
      }
    })
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => collect(a.request(b.peerId, bytes(8, i + 1)))),
    )
    answers.forEach((r, i) => expect(r, `request ${i}`).toEqual([bytes(8, i + 1)]))
    expect(most).toBeGreaterThan(1)
  })

  it('[NET7] request to unknown peer rejects with PeerUnreachableError', async () => {
    const [a, b] = (await setup(2)) as [PeerNet, PeerNet]
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
    const [a, b] = (await setup(2)) as [PeerNet, PeerNet]
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
}
