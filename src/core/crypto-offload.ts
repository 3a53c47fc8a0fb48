/**
 * History crypto off the main thread. A catch-up of a big room hashes every entry it receives
 * (SHA-256 of ~100,000 entries for a 100,000-message room) and checks signatures; in the browser
 * that ran on the main thread, between frames the UI wanted to paint. {@link createOffloadCrypto}
 * is a {@link HistoryCrypto} that sends big hash batches and signature checks to a dedicated Web
 * Worker (`src/core/crypto-worker.ts`, which runs `serveHistoryCrypto`). The worker runs the
 * same @noble code as {@link nobleCrypto}, so every verdict is the same as in-thread; only the
 * thread differs. Node peers keep node:crypto in-process.
 *
 * A worker that fails — cannot start, throws, sends garbage, or does not answer within
 * `timeoutMs` — is logged as a {@link CryptoWorkerError} and terminated; what it had not answered
 * and everything after is computed in-thread by the fallback. Nothing waits on a dead worker.
 */
import { createLogger } from '../net/logger.ts'
import { nobleCrypto, type HistoryCrypto } from '../crdt/crypto.ts'
import { HASH_BYTES, type HashRequest, type Reply, type VerifyRequest } from './crypto-serve.ts'

const log = createLogger('parley:core:crypto-offload')

/** The one end of the channel to the worker the client needs (a `Worker` is one). */
export interface CryptoPort {
  postMessage(message: unknown, transfer: Transferable[]): void
  addEventListener(type: 'message', listener: (ev: MessageEvent) => void): void
  addEventListener(type: 'error' | 'messageerror', listener: (ev: Event) => void): void
  terminate(): void
}

/** A {@link CryptoPort} whose worker starts late: see {@link deferredPort}. */
export interface DeferredPort extends CryptoPort {
  /** Starts the worker now, if it has not started. */
  start(): void
}

/**
 * A port whose worker is made by `connect` only at its first message or at `start()`: a page that
 * needs no worker before its first paint starts it after, instead of beside that paint (a worker's
 * thread, its script's fetch and compilation). Listeners added before are handed to it; a
 * `connect` that throws is told to them as an `error` event.
 */
export function deferredPort(connect: () => CryptoPort): DeferredPort {
  let port: CryptoPort | undefined
  let done = false
  const listeners: ['message' | 'error' | 'messageerror', (ev: never) => void][] = []
  const start = (): CryptoPort | undefined => {
    if (done) return port
    done = true
    try {
      port = connect()
    } catch (err) {
      const ev = { type: 'error', message: `cannot start: ${String(err)}` } as unknown as Event
      queueMicrotask(() => {
        for (const [type, l] of listeners) if (type === 'error') (l as (e: Event) => void)(ev)
      })
      return undefined
    }
    for (const [type, l] of listeners)
      port.addEventListener(type as 'error', l as (e: Event) => void)
    return port
  }
  return {
    start: () => void start(),
    postMessage: (message, transfer) => start()?.postMessage(message, transfer),
    addEventListener(type: 'message' | 'error' | 'messageerror', listener: (ev: never) => void) {
      listeners.push([type, listener])
      port?.addEventListener(type as 'error', listener as (e: Event) => void)
    },
    terminate() {
      done = true
      port?.terminate()
    },
  }
}

/** The crypto worker failed; the work it had goes to the in-thread fallback. */
export class CryptoWorkerError extends Error {
  static override readonly name = 'CryptoWorkerError'
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'CryptoWorkerError'
  }
}

export interface OffloadCryptoInit {
  /** Starts the worker, e.g. `() => new Worker(new URL('./crypto-worker.ts', import.meta.url))`. */
  connect: () => CryptoPort
  /** Does the work when the worker cannot. @default nobleCrypto */
  fallback?: HistoryCrypto
  /** Hash batches smaller than this many bytes stay in-thread: a round trip costs more. @default 16384 */
  minBatchBytes?: number
  /** A request unanswered for this long means the worker is stuck or gone. @default 30000 */
  timeoutMs?: number
}

export interface OffloadCrypto extends HistoryCrypto {
  /** 'worker' while the worker does the work; 'in-thread' once it failed or could not start. */
  readonly mode: 'worker' | 'in-thread'
  /** Terminates the worker; later calls run in-thread. */
  close(): void
}

interface Pending {
  reply: (r: Reply) => void
  /** Computes the answer in-thread instead. */
  fallback: () => void
  timer: ReturnType<typeof setTimeout>
}

/** A {@link HistoryCrypto} whose heavy work runs in a worker (see the module comment). */
export function createOffloadCrypto(init: OffloadCryptoInit): OffloadCrypto {
  const fallback = init.fallback ?? nobleCrypto
  const minBatchBytes = init.minBatchBytes ?? 16_384
  const timeoutMs = init.timeoutMs ?? 30_000
  const pending = new Map<number, Pending>()
  let nextId = 1
  let port: CryptoPort | undefined

  function fail(err: CryptoWorkerError): void {
    if (port === undefined) return
    log.error('%s: verifying in-thread from now on', err.message)
    port.terminate()
    port = undefined
    const left = [...pending.values()]
    pending.clear()
    for (const p of left) {
      clearTimeout(p.timer)
      p.fallback()
    }
  }

  try {
    const p = init.connect()
    p.addEventListener('message', (ev) => {
      const r = ev.data as Reply
      const waiting = pending.get(r.id)
      if (waiting === undefined) return
      if ('error' in r) return fail(new CryptoWorkerError(`crypto worker failed: ${r.error}`))
      pending.delete(r.id)
      clearTimeout(waiting.timer)
      waiting.reply(r)
    })
    p.addEventListener('error', (ev) => {
      ev.preventDefault?.()
      const what = (ev as ErrorEvent).message ?? 'error'
      fail(new CryptoWorkerError(`crypto worker died: ${what || 'error'}`))
    })
    p.addEventListener('messageerror', () =>
      fail(new CryptoWorkerError('crypto worker sent a message that could not be read')),
    )
    port = p
  } catch (err) {
    log.error('%e', new CryptoWorkerError('crypto worker did not start', { cause: err }))
  }

  /** Sends `request` to the worker; settles in-thread through `inThread` if the worker fails. */
  function call<T>(
    request: HashRequest | VerifyRequest,
    transfer: Transferable[],
    read: (r: Reply) => T,
    inThread: () => Promise<T>,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fallbackNow = (): void => void inThread().then(resolve, reject)
      const target = port
      if (target === undefined) return fallbackNow()
      const timer = setTimeout(
        () => fail(new CryptoWorkerError(`crypto worker did not answer in ${timeoutMs} ms`)),
        timeoutMs,
      )
      pending.set(request.id, {
        reply: (r) => {
          try {
            resolve(read(r))
          } catch (err) {
            fail(new CryptoWorkerError('crypto worker answered nonsense', { cause: err }))
            fallbackNow()
          }
        },
        fallback: fallbackNow,
        timer,
      })
      target.postMessage(request, transfer)
    })
  }

  return {
    get mode() {
      return port === undefined ? 'in-thread' : 'worker'
    },
    sha256: (data) => fallback.sha256(data),
    verify(key, sig, msg) {
      const request: VerifyRequest = { id: nextId++, op: 'verify', key, sig, msg }
      return call(
        request,
        [],
        (r) => {
          if (!('ok' in r) || typeof r.ok !== 'boolean') throw new TypeError('not a verdict')
          return r.ok
        },
        () => fallback.verify(key, sig, msg),
      )
    },
    sha256Many(list) {
      const inThread = (): Promise<Uint8Array[]> => Promise.resolve(list.map(fallback.sha256))
      const total = list.reduce((n, b) => n + b.length, 0)
      if (port === undefined || total < minBatchBytes) return inThread()
      const data = new Uint8Array(total)
      const ends = new Uint32Array(list.length)
      let at = 0
      for (const [i, b] of list.entries()) {
        data.set(b, at)
        ends[i] = at += b.length
      }
      const request: HashRequest = { id: nextId++, op: 'sha256', data: data.buffer, ends }
      return call(
        request,
        [data.buffer, ends.buffer],
        (r) => {
          if (!('hashes' in r) || r.hashes.byteLength !== list.length * HASH_BYTES)
            throw new TypeError('wrong number of hashes')
          const all = new Uint8Array(r.hashes)
          return list.map((_, i) => all.slice(i * HASH_BYTES, (i + 1) * HASH_BYTES))
        },
        inThread,
      )
    },
    close() {
      port?.terminate()
      port = undefined
      for (const p of pending.values()) {
        clearTimeout(p.timer)
        p.fallback()
      }
      pending.clear()
    },
  }
}
