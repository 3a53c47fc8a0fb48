/**
 * `request` between two nets of the memory hub: the responder's handler runs in-process and its
 * frames are copied across, with the same errors as the libp2p sync protocol.
 */
import { logger } from '@libp2p/logger'
import { MAX_FRAME_BYTES } from './constants.ts'
import { raceSignal } from './race-signal.ts'
import {
  AbortError,
  FrameTooLargeError,
  NotStartedError,
  PeerUnreachableError,
  ResponseAbortedError,
} from './errors.ts'
import type { PeerIdString, RequestHandler } from './index.ts'

/** One side of a hub request. */
export interface RequestEnd {
  readonly id: PeerIdString
  started: boolean
  handler: RequestHandler | undefined
  /** Requests this net takes part in, either side, with the other peer; aborted when the link goes. */
  readonly requests: Map<AbortController, PeerIdString>
}

const log = logger('parley:net:memory')

/** A request between two hub nets: the handler runs in-process, frames are copied across. */
export async function* memoryRequest(
  self: RequestEnd,
  peer: PeerIdString,
  data: Uint8Array,
  signal: AbortSignal | undefined,
  resolve: () => { target: RequestEnd | undefined; linked: boolean },
): AsyncGenerator<Uint8Array, void, undefined> {
  if (data.byteLength > MAX_FRAME_BYTES) {
    throw new FrameTooLargeError(`Request of ${data.byteLength} bytes exceeds ${MAX_FRAME_BYTES}`)
  }
  if (signal?.aborted === true) throw new AbortError()
  if (!self.started) throw new NotStartedError('request before start')
  const { target, linked } = resolve()
  if (target === undefined) throw new PeerUnreachableError(`Unknown peer ${peer}`)
  if (!linked) throw new PeerUnreachableError(`Not connected to ${peer}`)
  const handler = target.handler
  // Real streams open asynchronously: never answer within the caller's tick.
  await Promise.resolve()
  const ac = new AbortController()
  const onAbort = (): void => ac.abort()
  signal?.addEventListener('abort', onAbort)
  self.requests.set(ac, target.id)
  target.requests.set(ac, self.id)
  const failed = (what: string, cause?: unknown): Error =>
    signal?.aborted === true ? new AbortError() : new ResponseAbortedError(what, { cause })
  let it: AsyncIterator<Uint8Array> | undefined
  let done = false
  try {
    if (handler === undefined) throw failed(`${peer} has no request handler`)
    try {
      it = handler(data.slice(), self.id, { signal: ac.signal })[Symbol.asyncIterator]()
    } catch (err) {
      log.error('request handler of %s threw - %e', peer, err)
      throw failed('Request handler threw', err)
    }
    for (;;) {
      let step: IteratorResult<Uint8Array>
      try {
        step = await raceSignal(it.next(), ac.signal, () => new AbortError())
      } catch (err) {
        if (!ac.signal.aborted) log.error('request handler of %s threw - %e', peer, err)
        throw failed(ac.signal.aborted ? 'Link lost' : 'Request handler threw', err)
      }
      if (step.done === true) break
      if (step.value.byteLength > MAX_FRAME_BYTES) {
        log.error('handler of %s yielded a frame of %d bytes', peer, step.value.byteLength)
        throw failed('Responder sent a frame that is too large')
      }
      yield step.value.slice()
      if (ac.signal.aborted) throw failed('Link lost')
    }
    done = true
  } finally {
    signal?.removeEventListener('abort', onAbort)
    self.requests.delete(ac)
    target.requests.delete(ac)
    ac.abort()
    // Not awaited: a handler stuck inside next() would hold the requester up.
    if (!done) void it?.return?.()?.catch(() => {})
  }
}
