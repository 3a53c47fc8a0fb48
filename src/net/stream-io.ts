/**
 * Length-prefixed frames over a libp2p 3 `Stream`. libp2p 3 streams are event targets
 * (`message`, `end`, `close`, `drain`) with a `send()` that reports back-pressure, not the
 * duplex `sink`/`source` pair of libp2p 2. We read from events rather than the stream's async
 * iterator, which misses the end of a stream that closed before iteration began.
 */
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { encodeLength, FrameDecoder, assertFrameSize } from './frames.ts'
import { AbortError, ResponseAbortedError } from './errors.ts'

export interface ReadFramesOptions {
  maxBytes: number
  signal?: AbortSignal | undefined
}

/**
 * Yields the frames the remote writes until it closes its write side. Throws what the decoder
 * throws (the stream is then aborted), `AbortError` if `signal` fires, and `ResponseAbortedError`
 * if the stream is reset, aborted, or ends inside a frame.
 */
export async function* readFrames(
  stream: Stream,
  options: ReadFramesOptions,
): AsyncGenerator<Uint8Array, void, undefined> {
  const decoder = new FrameDecoder(options.maxBytes)
  const queue: Uint8Array[] = []
  let failure: Error | undefined
  let ended = false
  let wake: (() => void) | undefined
  const notify = (): void => {
    wake?.()
    wake = undefined
  }

  const onMessage = (evt: StreamMessageEvent): void => {
    if (failure !== undefined) return
    try {
      queue.push(...decoder.push(evt.data))
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err))
      stream.abort(failure)
    }
    notify()
  }
  const onEnd = (): void => {
    ended = true
    notify()
  }
  const onClose = (evt: StreamCloseEvent): void => {
    if (evt.error !== undefined && failure === undefined) {
      failure = new ResponseAbortedError(`Stream closed: ${evt.error.message}`, {
        cause: evt.error,
      })
    }
    ended = true
    notify()
  }
  const onAbort = (): void => {
    failure = new AbortError()
    stream.abort(failure)
    notify()
  }

  stream.addEventListener('message', onMessage)
  stream.addEventListener('end', onEnd)
  stream.addEventListener('close', onClose)
  options.signal?.addEventListener('abort', onAbort)
  if (options.signal?.aborted === true) onAbort()
  // The end may have come before we listened: libp2p 3 asks late consumers to read `readableEnded`.
  if (stream.readableEnded && stream.readBufferLength === 0) ended = true
  if (stream.status === 'aborted' || stream.status === 'reset') {
    failure ??= new ResponseAbortedError(`Stream ${stream.status}`)
  }

  try {
    for (;;) {
      const frame = queue.shift()
      if (frame !== undefined) {
        yield frame
        continue
      }
      if (failure !== undefined) throw failure
      if (ended) break
      await new Promise<void>((resolve) => (wake = resolve))
    }
    if (decoder.partial) throw new ResponseAbortedError('Stream ended inside a frame')
  } finally {
    stream.removeEventListener('message', onMessage)
    stream.removeEventListener('end', onEnd)
    stream.removeEventListener('close', onClose)
    options.signal?.removeEventListener('abort', onAbort)
  }
}

/** Writes one frame with its length prefix, waiting for the stream to drain if it asks to. */
export async function writeFrame(
  stream: Stream,
  data: Uint8Array,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<void> {
  assertFrameSize(data.byteLength, maxBytes)
  stream.send(encodeLength(data.byteLength))
  if (!stream.send(data)) await drained(stream, signal)
}

function drained(stream: Stream, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
    }
    const onDrain = (): void => {
      cleanup()
      resolve()
    }
    const onClose = (evt: StreamCloseEvent): void => {
      cleanup()
      reject(evt.error ?? new ResponseAbortedError('Stream closed while writing'))
    }
    const onAbort = (): void => {
      cleanup()
      reject(new AbortError())
    }
    if (stream.status !== 'open') {
      reject(new ResponseAbortedError(`Stream ${stream.status} while writing`))
      return
    }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort)
    if (signal?.aborted === true) onAbort()
  })
}
