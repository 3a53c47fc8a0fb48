/**
 * The bulk side channel between two Node peers: a response too large for the libp2p stream's
 * per-64-KiB JavaScript path (pnet, Noise, yamux, Node streams: ~8.8 ns of the receiver's main
 * thread per byte, docs/benchmarks.md) goes over one plain TCP connection instead, sealed in
 * records of one frame each (AES-256-GCM from node:crypto: bulk-record.ts).
 *
 * ```
 * client (requester)                                   server (holder)
 *   libp2p stream /parley/bulk/1.0.0: [1]         ──▶  admitted? issue a one-time token + secret
 *                                                 ◀──  [1 | u16 port | token (32) | secret (32)]
 *   TCP to <the libp2p connection's remote IP>:port
 *   token (32 bytes, plain)                       ──▶  constant-time match, unexpired, one use
 *                                                 ◀──  record READY         (keys confirmed)
 *   record REQUEST                                ──▶  the net's request handler
 *                                                 ◀──  record FRAME × n, then END (or ERROR)
 *   record REQUEST … (the channel is reused, one request at a time; idle ones close)
 * ```
 * The token and secret travel only over the libp2p connection (Noise, and in an organisation the
 * private network), to an admitted peer; the keys are bound to both peer ids and the direction.
 * Only requests the caller marks `bulk` take this path, and only when the peer is connected over
 * TCP (or WebSocket) by IP: any failure to open a channel (a browser or memory peer, a peer that
 * does not speak the protocol, a refused or unreachable port, a bad handshake) sends the request
 * over the libp2p stream instead, and that peer's requests keep doing so for `BULK_RETRY_MS`.
 */
import type { Connection, Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  ADMISSION_TIMEOUT_MS,
  BULK_OPEN_TIMEOUT_MS,
  BULK_PROTOCOL,
  BULK_RETRY_MS,
  MAX_FRAME_BYTES,
  REQUEST_READ_TIMEOUT_MS,
} from './constants.ts'
import { AbortError, BulkChannelError, ResponseAbortedError } from './errors.ts'
import type { AdmissionGate } from './admission.ts'
import { BULK_SECRET_BYTES, BULK_TOKEN_BYTES } from './bulk-record.ts'
import type { RecordSocket } from './bulk-socket.ts'
import { BulkClient } from './bulk-client.ts'
import { BulkServer, type BulkOffer } from './bulk-server.ts'
import { asPeerIdString } from './keys.ts'
import { readFrames, writeFrame } from './stream-io.ts'
import type { AbortOptions, PeerIdString, RequestHandler } from './index.ts'

const VERSION = 1
const OFFER_BYTES = 1 + 2 + BULK_TOKEN_BYTES + BULK_SECRET_BYTES
/** An IP address and TCP port at the start of a multiaddr (a TCP or WebSocket one). */
const IP_TCP = /^\/ip[46]\/([^/]+)\/tcp\/\d+/

export interface BulkInit {
  log: Logger
  gate?: AdmissionGate | undefined
  handler: () => RequestHandler | undefined
  /** libp2p listen multiaddrs: the bulk listener binds to the hosts of the TCP ones. */
  listen: readonly string[]
  /** Port to listen on. @default 0: the system picks one */
  port?: number | undefined
  /** Port to tell peers instead of the one listened on (tests; port forwarding). */
  announcePort?: number | undefined
}

/**
 * The hosts of the TCP (and WebSocket) multiaddrs among `addrs`, each once; an address a wildcard
 * among them already covers (`127.0.0.1` beside `0.0.0.0`) is left out, as one port serves all.
 */
export function tcpHosts(addrs: readonly string[]): string[] {
  const hosts = [...new Set(addrs.flatMap((a) => IP_TCP.exec(a)?.[1] ?? []))]
  const v4 = hosts.includes('0.0.0.0')
  const v6 = hosts.includes('::')
  return hosts.filter((h) => (h.includes(':') ? !v6 || h === '::' : !v4 || h === '0.0.0.0'))
}

export class BulkChannels {
  readonly #init: BulkInit
  #node: Libp2p | undefined
  #server: BulkServer | undefined
  #client: BulkClient | undefined
  /** Peers whose channel failed to open: no new attempt before this time. */
  readonly #retryAt = new Map<PeerIdString, number>()

  constructor(init: BulkInit) {
    this.#init = init
  }

  async attach(node: Libp2p): Promise<void> {
    const self = asPeerIdString(node.peerId.toString())
    const { log, gate } = this.#init
    const server = new BulkServer({
      self,
      log,
      handler: this.#init.handler,
      admitted: (peer) => gate === undefined || gate.isAdmitted(peer),
      announcePort: this.#init.announcePort,
    })
    await server.listen(tcpHosts(this.#init.listen), this.#init.port ?? 0)
    if (server.port !== 0) {
      await node.handle(BULK_PROTOCOL, this.#onStream, {
        maxInboundStreams: 8,
        maxOutboundStreams: 8,
        runOnLimitedConnection: false,
      })
      log('bulk channel listening on port %d', server.port)
    }
    node.addEventListener('peer:disconnect', this.#onDisconnect)
    this.#server = server
    this.#client = new BulkClient(self, log)
    this.#node = node
  }

  async detach(): Promise<void> {
    const node = this.#node
    this.#node = undefined
    node?.removeEventListener('peer:disconnect', this.#onDisconnect)
    this.#client?.close()
    await this.#server?.close()
    this.#retryAt.clear()
    if (node !== undefined) await node.unhandle(BULK_PROTOCOL)
  }

  /**
   * `fallback`'s answer to the same request, carried over a bulk channel when one is open or can
   * be opened to `peer`, else `fallback` itself. Errors are `fallback`'s (see `PeerNet.request`).
   */
  async *request(
    peer: PeerIdString,
    data: Uint8Array,
    options: AbortOptions,
    fallback: () => AsyncIterable<Uint8Array>,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const { signal } = options
    const client = this.#client
    if (client === undefined || data.byteLength > MAX_FRAME_BYTES) return yield* fallback()
    // A kept channel the server has since closed fails before any answer: try the next one.
    for (let attempt = 0; ; attempt++) {
      const kept = attempt < 3 ? client.take(peer) : undefined
      const channel = kept ?? (await this.#open(client, peer, signal))
      if (channel === undefined) return yield* fallback()
      let answered = false
      let reusable = false
      try {
        yield* client.exchange(channel, data, signal, () => (answered = true))
        reusable = true
        return
      } catch (err) {
        if (signal?.aborted === true) throw new AbortError()
        if (kept !== undefined && !answered && !(err instanceof BulkChannelError)) continue
        if (err instanceof ResponseAbortedError) throw err
        throw new ResponseAbortedError(`Bulk request to ${peer} failed: ${String(err)}`, {
          cause: err,
        })
      } finally {
        if (reusable) client.put(peer, channel)
        else channel.close()
      }
    }
  }

  /** A new channel to `peer`, or undefined when none can be opened (the caller falls back). */
  async #open(
    client: BulkClient,
    peer: PeerIdString,
    signal: AbortSignal | undefined,
  ): Promise<RecordSocket | undefined> {
    const node = this.#node
    if (node === undefined || Date.now() < (this.#retryAt.get(peer) ?? 0)) return undefined
    if (this.#init.gate?.isAdmitted(peer) === false) return undefined // the stream path waits
    let id: PeerId
    try {
      id = peerIdFromString(peer)
    } catch {
      return undefined
    }
    const conn = node.getConnections(id).find((c) => c.status === 'open' && c.limits === undefined)
    const host = conn === undefined ? undefined : IP_TCP.exec(conn.remoteAddr.toString())?.[1]
    if (conn === undefined || host === undefined) return undefined
    if (!(await speaksBulk(node, id))) return undefined
    const opening = AbortSignal.any([
      ...(signal === undefined ? [] : [signal]),
      AbortSignal.timeout(BULK_OPEN_TIMEOUT_MS),
    ])
    try {
      const offer = await askOffer(conn, opening)
      return await client.connect(peer, host, offer, opening)
    } catch (err) {
      if (signal?.aborted === true) throw new AbortError()
      this.#init.log(
        'bulk channel to %s at %s unavailable, using the libp2p stream - %e',
        peer,
        host,
        err,
      )
      this.#retryAt.set(peer, Date.now() + BULK_RETRY_MS)
      return undefined
    }
  }

  readonly #onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = asPeerIdString(evt.detail.toString())
    this.#client?.dropPeer(peer)
    this.#server?.dropPeer(peer)
    this.#retryAt.delete(peer)
  }

  readonly #onStream = (stream: Stream, connection: Connection): void => {
    const peer = asPeerIdString(connection.remotePeer.toString())
    this.#answerOffer(stream, peer).catch((err: unknown) => {
      this.#init.log.error('bulk offer to %s failed - %e', peer, err)
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    })
  }

  async #answerOffer(stream: Stream, peer: PeerIdString): Promise<void> {
    const gate = this.#init.gate
    if (gate !== undefined && !gate.isAdmitted(peer)) {
      if (!(await gate.whenAdmitted(peer, AbortSignal.timeout(ADMISSION_TIMEOUT_MS)))) {
        throw new BulkChannelError(`Bulk channel asked by ${peer}, who is not admitted`)
      }
    }
    const signal = AbortSignal.timeout(REQUEST_READ_TIMEOUT_MS)
    let asked = false
    for await (const frame of readFrames(stream, { maxBytes: 16, signal })) {
      if (asked || frame.byteLength !== 1 || frame[0] !== VERSION) {
        throw new BulkChannelError('Malformed bulk channel request')
      }
      asked = true
    }
    const offer = asked ? this.#server?.issue(peer) : undefined
    if (offer === undefined) throw new BulkChannelError('No bulk channel to offer')
    await writeFrame(stream, encodeOffer(offer), OFFER_BYTES, signal)
    await stream.close({ signal })
  }
}

/** Whether `id` may speak the bulk protocol (true while identify has not told us yet). */
async function speaksBulk(node: Libp2p, id: PeerId): Promise<boolean> {
  try {
    const { protocols } = await node.peerStore.get(id)
    return protocols.length === 0 || protocols.includes(BULK_PROTOCOL)
  } catch {
    return true
  }
}

async function askOffer(conn: Connection, signal: AbortSignal): Promise<BulkOffer> {
  const stream = await conn.newStream(BULK_PROTOCOL, { signal })
  try {
    await writeFrame(stream, Uint8Array.of(VERSION), 1, signal)
    await stream.close({ signal })
    let offer: BulkOffer | undefined
    for await (const frame of readFrames(stream, { maxBytes: OFFER_BYTES, signal })) {
      offer ??= decodeOffer(frame)
    }
    if (offer === undefined) throw new BulkChannelError('No bulk channel offered')
    return offer
  } finally {
    if (stream.status === 'open') stream.abort(new AbortError('Offer abandoned'))
  }
}

function encodeOffer(offer: BulkOffer): Uint8Array {
  const out = new Uint8Array(OFFER_BYTES)
  out[0] = VERSION
  new DataView(out.buffer).setUint16(1, offer.port)
  out.set(offer.token, 3)
  out.set(offer.secret, 3 + BULK_TOKEN_BYTES)
  return out
}

function decodeOffer(frame: Uint8Array): BulkOffer {
  if (frame.byteLength !== OFFER_BYTES || frame[0] !== VERSION) {
    throw new BulkChannelError('Malformed bulk channel offer')
  }
  const port = new DataView(frame.buffer, frame.byteOffset).getUint16(1)
  if (port === 0) throw new BulkChannelError('Bulk channel offer without a port')
  return {
    port,
    token: frame.slice(3, 3 + BULK_TOKEN_BYTES),
    secret: frame.slice(3 + BULK_TOKEN_BYTES),
  }
}
