/**
 * The listening side of the bulk side channel (bulk.ts): a plain TCP listener on the hosts the
 * libp2p TCP listener uses, that takes a connection only with a valid, unexpired one-time token
 * (issued to one admitted peer over the libp2p connection), then answers that peer's requests on
 * it with the net's one request handler, one request at a time, in sealed records. Anything else
 * (no token in time, a wrong one, a record that does not open, a record of the wrong kind) closes
 * the connection and is logged; the listener keeps serving.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from '@libp2p/interface'
import { BulkChannelError, FrameTooLargeError } from './errors.ts'
import {
  BULK_SECRET_BYTES,
  BULK_TOKEN_BYTES,
  RecordKind,
  channelKeys,
  type ChannelKeys,
} from './bulk-record.ts'
import { RecordSocket } from './bulk-socket.ts'
import { plainBytes } from './frames.ts'
import {
  BULK_HANDSHAKE_MS,
  BULK_IDLE_SERVER_MS,
  BULK_TOKEN_TTL_MS,
  MAX_BULK_HANDSHAKES,
  MAX_BULK_TOKENS,
  MAX_FRAME_BYTES,
} from './constants.ts'
import type { PeerIdString, RequestHandler } from './index.ts'

export interface BulkOffer {
  port: number
  token: Uint8Array
  secret: Uint8Array
}

interface Ticket {
  token: Buffer
  secret: Buffer
  peer: PeerIdString
  expires: number
}

export interface BulkServerInit {
  self: PeerIdString
  log: Logger
  handler: () => RequestHandler | undefined
  /** Whether `peer` may still be served (admission). */
  admitted: (peer: PeerIdString) => boolean
  /** Port to tell peers instead of the one listened on. @default the listened one */
  announcePort?: number | undefined
}

export class BulkServer {
  readonly #init: BulkServerInit
  readonly #servers: Server[] = []
  readonly #tickets: Ticket[] = []
  readonly #handshakes = new Set<Socket>()
  readonly #channels = new Map<RecordSocket, PeerIdString>()
  #port = 0

  constructor(init: BulkServerInit) {
    this.#init = init
  }

  get port(): number {
    return this.#port
  }

  /** Listens on every host, on one port for all (`port`, or the first one the system picks). */
  async listen(hosts: readonly string[], port: number): Promise<void> {
    this.#port = port
    for (const host of hosts) {
      const server = createServer({ noDelay: true }, (socket) => this.#accept(socket))
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject)
          server.listen({ host, port: this.#port, exclusive: true }, () => {
            server.off('error', reject)
            resolve()
          })
        })
      } catch (err) {
        this.#init.log.error('bulk listener on %s:%d failed - %e', host, this.#port, err)
        continue
      }
      server.on('error', (err) => this.#init.log.error('bulk listener error - %e', err))
      const address = server.address()
      if (typeof address === 'object' && address !== null) {
        this.#port = address.port
      }
      this.#servers.push(server)
    }
    if (this.#servers.length === 0) this.#port = 0
  }

  /** A fresh token and secret for `peer`'s next channel, or undefined (not listening, too many). */
  issue(peer: PeerIdString): BulkOffer | undefined {
    if (this.#port === 0) return undefined
    this.#expire()
    if (this.#tickets.length >= MAX_BULK_TOKENS) {
      this.#init.log('bulk: %d tokens outstanding, refusing %s another', this.#tickets.length, peer)
      return undefined
    }
    const ticket: Ticket = {
      token: randomBytes(BULK_TOKEN_BYTES),
      secret: randomBytes(BULK_SECRET_BYTES),
      peer,
      expires: Date.now() + BULK_TOKEN_TTL_MS,
    }
    this.#tickets.push(ticket)
    return {
      port: this.#init.announcePort ?? this.#port,
      token: ticket.token,
      secret: ticket.secret,
    }
  }

  /** Forgets `peer`'s tokens and closes its channels (it disconnected, or was evicted). */
  dropPeer(peer: PeerIdString): void {
    for (let i = this.#tickets.length - 1; i >= 0; i--) {
      if (this.#tickets[i]!.peer === peer) this.#tickets.splice(i, 1)
    }
    for (const [channel, owner] of this.#channels) if (owner === peer) channel.close()
  }

  async close(): Promise<void> {
    this.#tickets.length = 0
    for (const socket of this.#handshakes) socket.destroy()
    for (const channel of this.#channels.keys()) channel.close()
    await Promise.all(
      this.#servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    )
    this.#port = 0
  }

  #expire(): void {
    const now = Date.now()
    for (let i = this.#tickets.length - 1; i >= 0; i--) {
      if (this.#tickets[i]!.expires <= now) this.#tickets.splice(i, 1)
    }
  }

  #accept(socket: Socket): void {
    const { log } = this.#init
    const who = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    if (this.#handshakes.size >= MAX_BULK_HANDSHAKES) {
      log('bulk: too many connections without a token, refusing %s', who)
      socket.destroy()
      return
    }
    this.#handshakes.add(socket)
    const chunks: Buffer[] = []
    let got = 0
    const timer = setTimeout(() => refuse('no token in time'), BULK_HANDSHAKE_MS)
    const cleanup = (): void => {
      clearTimeout(timer)
      this.#handshakes.delete(socket)
      socket.off('data', onData)
    }
    const refuse = (why: string): void => {
      cleanup()
      log.error('bulk: refused connection from %s: %s', who, why)
      socket.destroy()
    }
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk)
      got += chunk.byteLength
      if (got < BULK_TOKEN_BYTES) return
      cleanup()
      const all = Buffer.concat(chunks)
      const ticket = this.#redeem(all.subarray(0, BULK_TOKEN_BYTES))
      if (ticket === undefined) return refuse('unknown or expired token')
      if (!this.#init.admitted(ticket.peer)) return refuse(`${ticket.peer} is no longer admitted`)
      const keys = channelKeys(ticket.secret, ticket.token, this.#init.self, ticket.peer, 'server')
      this.#open(socket, keys, ticket.peer, all.subarray(BULK_TOKEN_BYTES), who)
    }
    socket.on('data', onData)
    socket.on('error', () => socket.destroy())
    socket.on('close', cleanup)
  }

  /** The ticket whose token this is, removed (one use); compared in constant time. */
  #redeem(token: Buffer): Ticket | undefined {
    this.#expire()
    let found = -1
    for (let i = 0; i < this.#tickets.length; i++) {
      if (timingSafeEqual(this.#tickets[i]!.token, token)) found = i
    }
    return found < 0 ? undefined : this.#tickets.splice(found, 1)[0]
  }

  #open(socket: Socket, keys: ChannelKeys, peer: PeerIdString, rest: Buffer, who: string): void {
    const channel = new RecordSocket(socket, keys, MAX_FRAME_BYTES, this.#init.log, `from ${who}`)
    this.#channels.set(channel, peer)
    channel.onClose(() => this.#channels.delete(channel))
    channel.feed(rest)
    this.#serve(channel, peer)
      .catch((err: unknown) => {
        this.#init.log.error('bulk channel from %s (%s) failed - %e', peer, who, err)
      })
      .finally(() => channel.close())
  }

  /** Answers requests on `channel` until it closes, idles too long or breaks the protocol. */
  async #serve(channel: RecordSocket, peer: PeerIdString): Promise<void> {
    await channel.send(RecordKind.ready)
    for (;;) {
      const rec = await channel.next(AbortSignal.timeout(BULK_IDLE_SERVER_MS)).catch(() => {
        channel.close() // idle: the client opens a new channel when it needs one
        return undefined
      })
      if (rec === undefined) return
      if (rec.kind !== RecordKind.request) {
        throw new BulkChannelError(`Record of kind ${rec.kind} where a request was expected`)
      }
      if (!this.#init.admitted(peer)) throw new BulkChannelError(`${peer} is no longer admitted`)
      const handler = this.#init.handler()
      if (handler === undefined) {
        await channel.send(RecordKind.error, new TextEncoder().encode('No request handler'))
        continue
      }
      await this.#answer(channel, handler, rec.body, peer)
      if (channel.closed) return
    }
  }

  async #answer(
    channel: RecordSocket,
    handler: RequestHandler,
    request: Uint8Array,
    peer: PeerIdString,
  ): Promise<void> {
    const ac = new AbortController()
    const offClose = channel.onClose(() => ac.abort())
    try {
      for await (const frame of handler(plainBytes(request), peer, { signal: ac.signal })) {
        if (ac.signal.aborted) return
        if (frame.byteLength > MAX_FRAME_BYTES) {
          throw new FrameTooLargeError(
            `Frame of ${frame.byteLength} bytes exceeds ${MAX_FRAME_BYTES}`,
          )
        }
        await channel.send(RecordKind.frame, frame, ac.signal)
      }
      await channel.send(RecordKind.end)
    } catch (err) {
      if (channel.closed) return
      this.#init.log.error('bulk request from %s failed - %e', peer, err)
      await channel.send(RecordKind.error, new TextEncoder().encode(String(err).slice(0, 200)))
    } finally {
      offClose()
      ac.abort()
    }
  }
}
