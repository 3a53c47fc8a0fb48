/**
 * The always-on peer's queue of files to keep (src/core/files/keep-queue.ts) with injected
 * attempts and peers, on fake timers: backoff, peers connecting, quota refusals, full disks, the
 * concurrency cap, stopping.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { KeepQueue, type KeepQueueInit } from '../../../src/core/files/keep-queue.ts'
import {
  FileQuotaError,
  FileStoreFullError,
  FileUnavailableError,
} from '../../../src/core/files/errors.ts'
import type { PeerIdString } from '../../../src/net/index.ts'

interface Attempt {
  id: string
  resolve: () => void
  reject: (err: Error) => void
}

/** A queue whose attempts wait for the test to settle them, and whose peers the test sets. */
function harness(tuning: Partial<KeepQueueInit> = {}) {
  const attempts: Attempt[] = []
  let listener: ((peers: readonly PeerIdString[]) => void) | undefined
  const queue = new KeepQueue({
    attempt: (id) => new Promise<void>((resolve, reject) => attempts.push({ id, resolve, reject })),
    onPeers: (cb) => {
      listener = cb
      return () => (listener = undefined)
    },
    retryMs: 5_000,
    maxRetryMs: 40_000,
    ...tuning,
  })
  queue.start()
  const peers = (...ids: string[]): void => listener?.(ids as PeerIdString[])
  /** Settles the latest attempt and lets the queue react. */
  const settle = async (outcome: Error | 'ok'): Promise<void> => {
    const a = attempts.at(-1)!
    if (outcome === 'ok') a.resolve()
    else a.reject(outcome)
    await vi.advanceTimersByTimeAsync(0)
  }
  return { queue, attempts, peers, settle }
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('KeepQueue', () => {
  it('[KEEP1] a failed keep is tried again after 5 s, 10 s, 20 s, then at most every 40 s; not again once kept', async () => {
    const { queue, attempts, peers, settle } = harness()
    queue.keep('f')
    expect(attempts).toHaveLength(1)
    for (const wait of [5_000, 10_000, 20_000, 40_000, 40_000]) {
      const n = attempts.length
      await settle(new FileUnavailableError('nobody holds it'))
      expect(queue.status().pending).toMatchObject([{ id: 'f', error: 'FileUnavailableError' }])
      await vi.advanceTimersByTimeAsync(wait - 1)
      expect(attempts).toHaveLength(n)
      await vi.advanceTimersByTimeAsync(1)
      expect(attempts).toHaveLength(n + 1)
    }
    await settle('ok')
    expect(queue.status()).toMatchObject({ pending: [], kept: 1, attempts: 6 })
    peers('p1') // a peer connecting, and time passing, try nothing again
    await vi.advanceTimersByTimeAsync(600_000)
    expect(attempts).toHaveLength(6)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('[KEEP2] a peer connecting makes failed keeps due at once, but not those that found the disk full', async () => {
    const { queue, attempts, peers, settle } = harness({ concurrency: 1 })
    queue.keep('a')
    await settle(new FileUnavailableError('nobody holds it'))
    queue.keep('b')
    await settle(new FileStoreFullError('disk full'))
    expect(attempts.map((a) => a.id)).toEqual(['a', 'b'])
    peers('p1')
    expect(attempts.map((a) => a.id)).toEqual(['a', 'b', 'a'])
    peers('p1') // the same peers again: nothing new
    await settle(new FileUnavailableError('still nobody'))
    expect(attempts).toHaveLength(3)
    // b's backoff ends (5 s after its failure): the disk is retried on its own
    await vi.advanceTimersByTimeAsync(5_000)
    expect(attempts.map((a) => a.id)).toEqual(['a', 'b', 'a', 'b'])
    await settle('ok')
    expect(queue.status().pending.map((p) => p.id)).toEqual(['a'])
  })

  it('[KEEP3] a keep refused over the quota is dropped, and tried again only when kept anew', async () => {
    const { queue, attempts, peers, settle } = harness()
    queue.keep('big')
    await settle(new FileQuotaError('over the quota'))
    expect(queue.status()).toMatchObject({ pending: [], refused: 1 })
    peers('p1')
    await vi.advanceTimersByTimeAsync(600_000)
    expect(attempts).toHaveLength(1)
    queue.keep('big') // offered again (or seen again after a restart)
    expect(attempts).toHaveLength(2)
    await settle('ok')
    expect(queue.status()).toMatchObject({ pending: [], kept: 1, refused: 1 })
  })

  it('[KEEP4] at most `concurrency` attempts run at once; the others wait for a slot', async () => {
    const { queue, attempts } = harness({ concurrency: 2 })
    for (const id of ['a', 'b', 'c', 'd']) queue.keep(id)
    expect(attempts.map((a) => a.id)).toEqual(['a', 'b'])
    attempts[0]!.resolve()
    await vi.advanceTimersByTimeAsync(0)
    expect(attempts.map((a) => a.id)).toEqual(['a', 'b', 'c'])
    attempts[1]!.reject(new FileUnavailableError('nobody holds it'))
    await vi.advanceTimersByTimeAsync(0)
    expect(attempts.map((a) => a.id)).toEqual(['a', 'b', 'c', 'd'])
    expect(queue.status().pending.map((p) => p.id)).toEqual(['b', 'c', 'd'])
  })

  it('[KEEP5] a keep made again while its attempt runs is retried at once if that attempt fails', async () => {
    const { queue, attempts, settle } = harness()
    queue.keep('f')
    queue.keep('f') // offered while the first attempt runs
    expect(attempts).toHaveLength(1)
    await settle(new FileUnavailableError('the offerer dropped'))
    expect(attempts).toHaveLength(2)
  })

  it('[KEEP6] stopping forgets pending keeps; an attempt that fails after stop is not retried', async () => {
    const { queue, attempts, peers, settle } = harness()
    queue.keep('a')
    queue.keep('b')
    queue.keep('c')
    queue.stop()
    expect(queue.status().pending).toEqual([])
    await settle(new Error('aborted'))
    peers('p1')
    queue.keep('d')
    await vi.advanceTimersByTimeAsync(600_000)
    expect(attempts.map((a) => a.id)).toEqual(['a', 'b'])
    expect(vi.getTimerCount()).toBe(0)
  })
})
