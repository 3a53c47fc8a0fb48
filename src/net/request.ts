/**
 * The sync protocol (`/parley/sync/1.0.0`): one request frame, a stream of response frames.
 *
 * ```
 * requester                               responder
 *   open stream ─────────────────────────▶  (libp2p handler)
 *   [len][request]  then close write ────▶  read one frame
 *                                           handler(request) yields frames
 *   ◀──────────────────────── [len][frame] …  then close write
 *   ◀──────────────────────── or abort (handler threw, frame too large, bad request)
 * ```
 * Frames are ≤ MAX_FRAME_BYTES both ways; anything else aborts the stream.
 */
import type { Libp2p, Logger, Stream, Connection } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  ADMISSION_TIMEOUT_MS,
  DIAL_TIMEOUT_MS,
  MAX_FRAME_BYTES,
  MAX_INBOUND_SYNC_STREAMS,
  MAX_OUTBOUND_SYNC_STREAMS,
  MAX_REQUESTS_PER_PEER,
  REQUEST_READ_TIMEOUT_MS,
  SYNC_PROTOCOL,
} from './constants.ts'
import {
  AbortError,
  FrameTooLargeError,
  InvalidFrameError,
  NotStartedError,
  PeerUnreachableError,
  ResponseAbortedError,
} from './errors.ts'
import type { AdmissionGate } from './admission.ts'
import { asPeerIdString } from './keys.ts'
import { PeerSlots } from './peer-slots.ts'
import { readFrames, writeFrame } from './stream-io.ts'
import type { AbortOptions, PeerIdString, RequestHandler, Unsubscribe } from './index.ts'

export interface SyncProtocolInit {
  /** Serve and send requests over relayed (limited) connections too. */
  runOnLimitedConnection: boolean
  /** Serve only admitted peers, and send requests only to them (waiting for the verdict). */
  gate?: AdmissionGate | undefined
}

export class SyncProtocol {
  readonly #log: Logger
  readonly #init: SyncProtocolInit
  #node: Libp2p | undefined
  #handler: RequestHandler | undefined
  /** Inbound requests being answered, aborted on stop. */
  readonly #serving = new Set<AbortController>()
  /** Our requests in flight per peer, at most MAX_REQUESTS_PER_PEER (the rest wait, not fail). */
  readonly #slots = new PeerSlots(MAX_REQUESTS_PER_PEER)

  constructor(log: Logger, init: SyncProtocolInit) {
    this.#log = log
    this.#init = init
  }

  async attach(node: Libp2p): Promise<void> {
    await node.handle(SYNC_PROTOCOL, this.#onStream, {
      maxInboundStreams: MAX_INBOUND_SYNC_STREAMS,
      maxOutboundStreams: MAX_OUTBOUND_SYNC_STREAMS,
      runOnLimitedConnection: this.#init.runOnLimitedConnection,
    })
    this.#node = node
  }

  async detach(): Promise<void> {
    const node = this.#node
    this.#node = undefined
    for (const ac of this.#serving) ac.abort()
    this.#serving.clear()
    await node?.unhandle(SYNC_PROTOCOL)
  }

  handle(handler: RequestHandler): Unsubscribe {
    this.#handler = handler
    return () => {
      if (this.#handler === handler) this.#handler = undefined
    }
  }

  async *request(
    peer: PeerIdString,
    data: Uint8Array,
    options: AbortOptions = {},
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const { signal } = options
    if (data.byteLength > MAX_FRAME_BYTES) {
      throw new FrameTooLargeError(`Request of ${data.byteLength} bytes exceeds ${MAX_FRAME_BYTES}`)
    }
    if (signal?.aborted === true) throw new AbortError()
    const node = this.#node
    if (node === undefined) throw new NotStartedError('request before start')
    const release = await this.#slots.acquire(peer, signal)
    try {
      const stream = await this.#open(node, peer, signal)
      try {
        await writeFrame(stream, data, MAX_FRAME_BYTES, signal)
        await stream.close(signal === undefined ? {} : { signal })
        yield* readFrames(stream, { maxBytes: MAX_FRAME_BYTES, signal })
      } catch (err) {
        if (isAborted(signal)) throw new AbortError()
        if (err instanceof FrameTooLargeError || err instanceof InvalidFrameError) {
          this.#log.error('bad response frame from %s - %e', peer, err)
          throw err
        }
        if (err instanceof ResponseAbortedError) throw err
        throw new ResponseAbortedError(`Request to ${peer} failed: ${String(err)}`, { cause: err })
      } finally {
        // Also reached when the caller stops iterating early: release the stream.
        if (stream.status === 'open') stream.abort(new AbortError('Request abandoned'))
      }
    } finally {
      release()
    }
  }

  async #open(node: Libp2p, peer: PeerIdString, signal?: AbortSignal): Promise<Stream> {
    let id
    try {
      id = peerIdFromString(peer)
    } catch (err) {
      throw new PeerUnreachableError(`Not a peer id: ${peer}`, { cause: err })
    }
    if (id.equals(node.peerId)) throw new PeerUnreachableError('Cannot request from ourselves')
    const gate = this.#init.gate
    if (gate !== undefined && !gate.isAdmitted(peer)) {
      try {
        if (node.getConnections(id).length === 0)
          await node.dial(id, { signal: bounded(signal, DIAL_TIMEOUT_MS) })
      } catch (err) {
        if (isAborted(signal)) throw new AbortError()
        throw new PeerUnreachableError(`Cannot dial ${peer}`, { cause: err })
      }
      const admitted = await gate.whenAdmitted(peer, bounded(signal, ADMISSION_TIMEOUT_MS))
      if (isAborted(signal)) throw new AbortError()
      if (!admitted) throw new PeerUnreachableError(`${peer} is not admitted`)
    }
    try {
      // Bounded whatever the caller's signal: given one, libp2p drops its own dial and protocol
      // negotiation timeouts, and a stream refused by a busy peer was waited for forever.
      return await node.dialProtocol(id, SYNC_PROTOCOL, {
        runOnLimitedConnection: this.#init.runOnLimitedConnection,
        signal: bounded(signal, DIAL_TIMEOUT_MS),
      })
    } catch (err) {
      if (isAborted(signal)) throw new AbortError()
      throw new PeerUnreachableError(`Cannot open ${SYNC_PROTOCOL} to ${peer}`, { cause: err })
    }
  }

  readonly #onStream = (stream: Stream, connection: Connection): void => {
    const ac = new AbortController()
    this.#serving.add(ac)
    this.#serve(stream, asPeerIdString(connection.remotePeer.toString()), ac)
      .catch((err: unknown) => {
        this.#log.error('sync request from %p failed - %e', connection.remotePeer, err)
        stream.abort(err instanceof Error ? err : new Error(String(err)))
      })
      .finally(() => {
        ac.abort()
        this.#serving.delete(ac)
      })
  }

  async #serve(stream: Stream, from: PeerIdString, ac: AbortController): Promise<void> {
    const onClose = (): void => ac.abort()
    stream.addEventListener('close', onClose)
    try {
      // A peer may ask the moment it has admitted us, a moment before we admit it: wait for that.
      const gate = this.#init.gate
      if (gate !== undefined && !gate.isAdmitted(from)) {
        const wait = AbortSignal.any([ac.signal, AbortSignal.timeout(ADMISSION_TIMEOUT_MS)])
        if (!(await gate.whenAdmitted(from, wait)))
          throw new PeerUnreachableError(`Request from ${from}, who is not admitted`)
      }
      const request = await this.#readRequest(stream, ac.signal)
      const handler = this.#handler
      if (handler === undefined) throw new ResponseAbortedError('No request handler')
      for await (const frame of handler(request, from, { signal: ac.signal })) {
        if (ac.signal.aborted) break
        await writeFrame(stream, frame, MAX_FRAME_BYTES, ac.signal)
      }
      if (stream.status === 'open') await stream.close({ signal: ac.signal })
    } finally {
      stream.removeEventListener('close', onClose)
    }
  }

  /** The one request frame; the requester must close its write side right after it. */
  async #readRequest(stream: Stream, stop: AbortSignal): Promise<Uint8Array> {
    const signal = AbortSignal.any([stop, AbortSignal.timeout(REQUEST_READ_TIMEOUT_MS)])
    let request: Uint8Array | undefined
    for await (const frame of readFrames(stream, { maxBytes: MAX_FRAME_BYTES, signal })) {
      if (request !== undefined) throw new InvalidFrameError('More than one request frame')
      request = frame
    }
    if (request === undefined) throw new InvalidFrameError('No request frame')
    return request
  }
}

/** Reads `aborted` afresh: TypeScript would otherwise keep a narrowing from before an `await`. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

/** `signal` (if any) or a timeout of `ms`, whichever aborts first. */
function bounded(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(ms)
  return signal === undefined ? timeout : AbortSignal.any([signal, timeout])
}
