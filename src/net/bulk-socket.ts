/**
 * One bulk side channel's TCP socket, once keyed: sends sealed records (waiting for the socket to
 * drain) and hands out the records it receives in order, pausing the socket while a few wait to
 * be taken (TCP's own flow control then holds the sender back). A record that does not open
 * closes the socket; nothing here throws past its callers' awaits.
 */
import type { Socket } from 'node:net'
import type { Logger } from '@libp2p/interface'
import { AbortError, BulkChannelError, ResponseAbortedError } from './errors.ts'
import {
  RecordReader,
  RecordSealer,
  type BulkRecord,
  type ChannelKeys,
  type RecordKind,
} from './bulk-record.ts'

/** Records received and not yet taken before the socket is paused. */
const HIGH_WATER = 4

export class RecordSocket {
  readonly #socket: Socket
  readonly #sealer: RecordSealer
  readonly #reader: RecordReader
  readonly #log: Logger
  readonly #what: string
  readonly #queue: BulkRecord[] = []
  #failure: Error | undefined
  #closed = false
  #wake: (() => void) | undefined
  readonly #onClose = new Set<() => void>()

  /**
   * With `reader`, the socket was opened with `onread` reading into `reader.target()` and calling
   * `filled` (zero-copy: see `zeroCopyRead`); without it, records come from `data` events.
   */
  constructor(
    socket: Socket,
    keys: ChannelKeys,
    maxBody: number,
    log: Logger,
    what: string,
    reader?: RecordReader,
  ) {
    this.#socket = socket
    this.#sealer = new RecordSealer(keys.send, maxBody)
    this.#reader = reader ?? new RecordReader(keys.receive, maxBody)
    this.#log = log
    this.#what = what
    if (reader === undefined) socket.on('data', this.#onData)
    socket.on('close', this.#onSocketClose)
    socket.on('error', (err) => this.#fail(new ResponseAbortedError(err.message, { cause: err })))
  }

  /** Feeds bytes read before this object took the socket over. */
  feed(initial: Buffer): void {
    if (initial.byteLength > 0) this.#onData(initial)
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Calls `cb` once when the socket closes (at once if it has); returns a function that removes it. */
  onClose(cb: () => void): () => void {
    if (this.#closed) cb()
    else this.#onClose.add(cb)
    return () => this.#onClose.delete(cb)
  }

  async send(kind: RecordKind, body?: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (this.#closed) throw this.#failure ?? new ResponseAbortedError('Bulk channel closed')
    const parts = this.#sealer.seal(kind, body)
    const socket = this.#socket
    socket.cork()
    let ok = true
    for (const part of parts) ok = socket.write(part)
    socket.uncork()
    if (!ok) await this.#drained(signal)
  }

  /** The next record; undefined once the socket closed with none left. Throws `AbortError`. */
  async next(signal?: AbortSignal): Promise<BulkRecord | undefined> {
    for (;;) {
      const rec = this.#queue.shift()
      if (rec !== undefined) {
        if (this.#queue.length < HIGH_WATER && this.#socket.isPaused()) this.#socket.resume()
        return rec
      }
      if (this.#failure !== undefined) throw this.#failure
      if (this.#closed) return undefined
      if (signal?.aborted === true) throw new AbortError()
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve()
        signal?.addEventListener('abort', onAbort, { once: true })
        this.#wake = () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        }
      })
      this.#wake = undefined
    }
  }

  /** Closes the socket (idempotent). */
  close(): void {
    this.#socket.destroy()
    this.#closeNow()
  }

  /**
   * `n` bytes were read into the reader's target. Returns false (which stops reading) only once
   * closed: to hold records back it pauses the socket, which in `onread` mode stops reading too,
   * and which `next` undoes (a false return alone leaves the socket neither paused nor reading).
   */
  filled(n: number): boolean {
    if (this.#closed) return false
    try {
      const rec = this.#reader.filled(n)
      if (rec !== undefined) {
        this.#queue.push(rec)
        this.#notify()
      }
    } catch (err) {
      this.#log.error('bulk channel %s: %s - closing it', this.#what, (err as Error).message)
      this.#fail(err instanceof BulkChannelError ? err : new BulkChannelError(String(err)))
      return false
    }
    if (this.#queue.length >= HIGH_WATER) this.#socket.pause()
    return true
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#closed) return
    try {
      this.#queue.push(...this.#reader.push(chunk))
    } catch (err) {
      this.#log.error('bulk channel %s: %s - closing it', this.#what, (err as Error).message)
      this.#fail(err instanceof BulkChannelError ? err : new BulkChannelError(String(err)))
      return
    }
    if (this.#queue.length >= HIGH_WATER) this.#socket.pause()
    this.#notify()
  }

  readonly #onSocketClose = (): void => {
    if (this.#reader.partial) this.#failure ??= new ResponseAbortedError('Closed inside a record')
    this.#closeNow()
  }

  #fail(err: Error): void {
    this.#failure ??= err
    this.close()
  }

  #closeNow(): void {
    if (this.#closed) return
    this.#closed = true
    this.#notify()
    for (const cb of this.#onClose) cb()
    this.#onClose.clear()
  }

  #notify(): void {
    this.#wake?.()
  }

  #drained(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#closed) {
        reject(this.#failure ?? new ResponseAbortedError('Bulk channel closed while writing'))
        return
      }
      const done = (err?: Error): void => {
        this.#socket.off('drain', onDrain)
        signal?.removeEventListener('abort', onAbort)
        offClose()
        if (err === undefined) resolve()
        else reject(err)
      }
      const onDrain = (): void => done()
      const onAbort = (): void => done(new AbortError())
      const onClosed = (): void =>
        done(this.#failure ?? new ResponseAbortedError('Bulk channel closed while writing'))
      this.#socket.on('drain', onDrain)
      signal?.addEventListener('abort', onAbort, { once: true })
      const offClose = this.onClose(onClosed)
      if (signal?.aborted === true) onAbort()
    })
  }
}
