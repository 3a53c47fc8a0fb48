/**
 * A transport connection whose sends of one job go out as one write. Noise hands each frame over
 * as three buffers (length, ciphertext, tag) and the transports write every buffer they are given
 * on its own (`@libp2p/tcp`: one `socket.write`, so one syscall, each); yamux answers every data
 * frame it reads with a window update frame, so a burst of gossip read in one go was answered with
 * as many writes again. Here every send of a job (a microtask run) is kept and written at its end
 * as one buffer: one syscall where there were several per frame — the costliest thing an idle peer
 * did, and under a flood the costliest thing a receiver did (docs/reliability.md, "Abuse").
 *
 * It wraps each connection before Noise as a libp2p connection protector: {@link batchedWrites}
 * when there is no network key, the private network (pnet.ts, which adds its cipher) when there
 * is. WebRTC connections skip protectors; they send each message as one data-channel message.
 */
import type {
  AbortOptions,
  ConnectionProtector,
  Logger,
  MessageStream,
  MultiaddrConnection,
  StreamCloseEvent,
  StreamMessageEvent,
} from '@libp2p/interface'
import { AbstractMultiaddrConnection } from '@libp2p/utils'

type SendList = Parameters<AbstractMultiaddrConnection['sendData']>[0]

export interface BatchedConnectionInit {
  maConn: MultiaddrConnection
  log: Logger
}

export class BatchedConnection extends AbstractMultiaddrConnection {
  readonly #maConn: MessageStream
  /** What was sent during this job, written to the transport as one at its end. */
  #pending: Uint8Array[] = []
  /** The transport said it is full at the last write; until it drains, so do we. */
  #full = false

  constructor(init: BatchedConnectionInit) {
    super({ log: init.log, remoteAddr: init.maConn.remoteAddr, direction: init.maConn.direction })
    this.#maConn = init.maConn
    // libp2p's Connection closes and aborts the transport's connection, not this one: what this
    // job sent must reach it first (a stream's reset just before its connection is aborted — else
    // the other side sees its streams end cleanly, a refused request answered with nothing).
    const maConn = init.maConn
    const abort = maConn.abort.bind(maConn)
    const close = maConn.close.bind(maConn)
    maConn.abort = (err: Error): void => {
      this.#flush()
      abort(err)
    }
    maConn.close = async (options?: AbortOptions): Promise<void> => {
      this.#flush()
      await close(options)
    }
    // The transport holds what it read until a 'message' listener is added, then re-emits it a
    // microtask later (after a subclass's constructor has run).
    this.#maConn.addEventListener('message', (evt: StreamMessageEvent) => {
      const data = evt.data
      if (data instanceof Uint8Array) this.receive(data)
      else for (const buf of data) this.receive(buf)
    })
    this.#maConn.addEventListener('drain', () => {
      this.#full = false
      this.onMuxerDrain()
    })
    this.#maConn.addEventListener('close', (evt: StreamCloseEvent) => {
      if (evt.error === undefined) this.onTransportClosed()
      else if (evt.local === true) this.abort(evt.error)
      else this.onRemoteReset()
    })
  }

  /** Bytes the transport read; a subclass deciphers them here. */
  protected receive(data: Uint8Array): void {
    this.onData(data)
  }

  /**
   * A subclass that enciphers defines this: each send's bytes come as one buffer of our own (a
   * copy), in order, to encipher in place. Without it the buffers are kept as given and copied
   * once, into the job's one write.
   */
  protected seal?(out: Uint8Array<ArrayBuffer>): void

  sendData(data: SendList): { sentBytes: number; canSendMore: boolean } {
    const first = this.#pending.length === 0
    if (this.seal === undefined) {
      for (const buf of data) this.#pending.push(buf)
    } else {
      const out: Uint8Array<ArrayBuffer> = new Uint8Array(data.byteLength)
      let at = 0
      for (const buf of data) {
        out.set(buf, at)
        at += buf.byteLength
      }
      this.seal(out)
      this.#pending.push(out)
    }
    if (first && this.#pending.length > 0) queueMicrotask(() => this.#flush())
    return { sentBytes: data.byteLength, canSendMore: !this.#full }
  }

  #flush(): void {
    const parts = this.#pending
    if (parts.length === 0) return
    this.#pending = []
    let out = parts[0]!
    if (parts.length > 1) {
      out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
      let at = 0
      for (const p of parts) {
        out.set(p, at)
        at += p.byteLength
      }
    }
    // The socket may have begun closing since this job's sends were queued (a one-shot command
    // stopping, the other side hanging up): nothing more can go out on it, and throwing from here
    // — a microtask — would crash the process.
    try {
      if (!this.#maConn.send(out)) this.#full = true
    } catch (err) {
      this.log(
        'dropped %d bytes queued for a connection that can no longer send: %e',
        out.byteLength,
        err,
      )
    }
  }

  async sendClose(options?: AbortOptions): Promise<void> {
    this.#flush()
    await this.#maConn.close(options)
  }

  sendReset(err: Error): void {
    // What was sent before the reset goes first, as it did when every send was written at once
    // (a refusal verdict, say, is sent just before its connection is aborted).
    this.#flush()
    this.#maConn.abort(err)
  }

  sendPause(): void {
    this.#maConn.pause()
  }

  sendResume(): void {
    this.#maConn.resume()
  }
}

export const isTransportConnection = (s: MessageStream): s is MultiaddrConnection =>
  'remoteAddr' in s

/**
 * A libp2p `connectionProtector` that only batches writes ({@link BatchedConnection}): for peers
 * without a network key. Nothing changes on the wire but how bytes are split into writes.
 */
export function batchedWrites(): () => ConnectionProtector {
  return () => ({
    [Symbol.toStringTag]: 'parley/batched-writes',
    protect: async (conn) => {
      if (!isTransportConnection(conn)) return conn
      return new BatchedConnection({ maConn: conn, log: conn.log.newScope('batched') })
    },
  })
}
