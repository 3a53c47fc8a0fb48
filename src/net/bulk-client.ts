/**
 * The dialling side of the bulk side channel (bulk.ts): opens a channel with a token and secret
 * the peer issued over the libp2p connection, runs one request at a time on it, and keeps a few
 * idle channels per peer for the next requests (closed after `BULK_IDLE_CLIENT_MS`).
 */
import { connect } from 'node:net'
import type { Logger } from '@libp2p/interface'
import { AbortError, BulkChannelError, ResponseAbortedError } from './errors.ts'
import { RecordKind, RecordReader, channelKeys } from './bulk-record.ts'
import { RecordSocket } from './bulk-socket.ts'
import type { BulkOffer } from './bulk-server.ts'
import { BULK_IDLE_CLIENT_MS, MAX_FRAME_BYTES, MAX_IDLE_BULK_CHANNELS } from './constants.ts'
import { plainBytes } from './frames.ts'
import type { PeerIdString } from './index.ts'

interface Idle {
  channel: RecordSocket
  timer: ReturnType<typeof setTimeout>
  off: () => void
}

export class BulkClient {
  readonly #self: PeerIdString
  readonly #log: Logger
  readonly #idle = new Map<PeerIdString, Idle[]>()
  readonly #open = new Set<RecordSocket>()

  constructor(self: PeerIdString, log: Logger) {
    this.#self = self
    this.#log = log
  }

  /**
   * Connects to `host`:`offer.port`, shows the token and waits for the server's first sealed record
   * (which proves it holds the same keys). Throws if any of that fails or `signal` fires.
   */
  async connect(
    peer: PeerIdString,
    host: string,
    offer: BulkOffer,
    signal: AbortSignal,
  ): Promise<RecordSocket> {
    const keys = channelKeys(offer.secret, offer.token, peer, this.#self, 'client')
    // The socket reads straight into each record's buffer (no copy out of 64 KiB reads).
    const reader = new RecordReader(keys.receive, MAX_FRAME_BYTES)
    let channel: RecordSocket | undefined
    const socket = connect({
      host,
      port: offer.port,
      noDelay: true,
      onread: { buffer: () => reader.target(), callback: (n) => channel?.filled(n) ?? false },
    })
    const onAbort = (): void => void socket.destroy(new AbortError())
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve)
        socket.once('error', reject)
        socket.once('close', () => reject(new ResponseAbortedError('closed while connecting')))
      })
      socket.removeAllListeners('error').removeAllListeners('close')
      const opened = new RecordSocket(
        socket,
        keys,
        MAX_FRAME_BYTES,
        this.#log,
        `to ${peer}`,
        reader,
      )
      channel = opened
      socket.write(offer.token)
      const first = await opened.next(signal).catch((err: unknown) => {
        opened.close()
        throw err
      })
      if (first?.kind !== RecordKind.ready) {
        opened.close()
        throw new BulkChannelError(`${peer} refused the bulk channel`)
      }
      this.#open.add(opened)
      opened.onClose(() => this.#open.delete(opened))
      return opened
    } catch (err) {
      socket.destroy()
      throw err
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  /**
   * Sends `data` as one request on `channel` and yields the response frames. Returns true when the
   * response ended normally (the channel may take another request). Throws `ResponseAbortedError`
   * (responder failed, channel closed or broke the protocol: its cause says which), `AbortError`.
   */
  async *exchange(
    channel: RecordSocket,
    data: Uint8Array,
    signal: AbortSignal | undefined,
    onAnswer: () => void,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    await channel.send(RecordKind.request, data, signal)
    for (;;) {
      const rec = await channel.next(signal)
      if (rec === undefined) throw new ResponseAbortedError('Bulk channel closed mid-response')
      onAnswer()
      switch (rec.kind) {
        case RecordKind.frame:
          yield plainBytes(rec.body)
          break
        case RecordKind.end:
          return
        case RecordKind.error:
          throw new ResponseAbortedError(`Responder failed: ${new TextDecoder().decode(rec.body)}`)
        default:
          channel.close()
          throw new BulkChannelError(`Record of kind ${rec.kind} in a response`)
      }
    }
  }

  /** An idle channel to `peer`, if one is kept. */
  take(peer: PeerIdString): RecordSocket | undefined {
    const list = this.#idle.get(peer)
    for (;;) {
      const idle = list?.pop()
      if (idle === undefined) return undefined
      clearTimeout(idle.timer)
      idle.off()
      if (!idle.channel.closed) return idle.channel
    }
  }

  /** Keeps `channel` (its last response ended normally) for `peer`'s next request. */
  put(peer: PeerIdString, channel: RecordSocket): void {
    const list = this.#idle.get(peer) ?? []
    if (channel.closed || list.length >= MAX_IDLE_BULK_CHANNELS) return channel.close()
    this.#idle.set(peer, list)
    const drop = (): void => {
      const i = list.findIndex((e) => e.channel === channel)
      if (i >= 0) list.splice(i, 1)[0]!.off()
      clearTimeout(timer)
      channel.close()
    }
    const timer = setTimeout(drop, BULK_IDLE_CLIENT_MS)
    timer.unref()
    const off = channel.onClose(drop)
    list.push({ channel, timer, off })
  }

  /** Closes every channel to `peer`. */
  dropPeer(peer: PeerIdString): void {
    for (let channel = this.take(peer); channel !== undefined; channel = this.take(peer)) {
      channel.close()
    }
    this.#idle.delete(peer)
  }

  /** Closes every channel, idle or busy. */
  close(): void {
    for (const peer of [...this.#idle.keys()]) this.dropPeer(peer)
    for (const channel of this.#open) channel.close()
  }
}
