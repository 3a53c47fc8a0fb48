/**
 * Length-prefixed framing for the sync protocol: `varint(length) ‖ bytes`, the same wire format as
 * libp2p's `lpStream`, with our own size cap. Pure: no I/O, no libp2p.
 */
import { MAX_FRAME_BYTES } from './constants.ts'
import { FrameTooLargeError, InvalidFrameError } from './errors.ts'

/** Longest varint we accept: enough for any length ≤ 2^35; real lengths take ≤ 4 bytes. */
const MAX_VARINT_BYTES = 5

/** The varint length prefix of a frame of `length` bytes. */
export function encodeLength(length: number): Uint8Array {
  const out: number[] = []
  let n = length
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return Uint8Array.from(out)
}

/** One frame with its length prefix, in one buffer. Throws `FrameTooLargeError` above `maxBytes`. */
export function encodeFrame(data: Uint8Array, maxBytes = MAX_FRAME_BYTES): Uint8Array {
  assertFrameSize(data.byteLength, maxBytes)
  const prefix = encodeLength(data.byteLength)
  const out = new Uint8Array(prefix.byteLength + data.byteLength)
  out.set(prefix, 0)
  out.set(data, prefix.byteLength)
  return out
}

export function assertFrameSize(length: number, maxBytes = MAX_FRAME_BYTES): void {
  if (length > maxBytes) {
    throw new FrameTooLargeError(`Frame of ${length} bytes exceeds ${maxBytes}`)
  }
}

/**
 * A plain `Uint8Array` view of the same memory. On Node, transports hand us `Buffer`s, whose
 * `slice` shares memory and whose equality differs; upper layers get plain arrays only.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Anything with a byte view: `Uint8Array` or libp2p's `Uint8ArrayList`. */
export interface ByteChunk {
  readonly byteLength: number
  subarray(): Uint8Array
}

/**
 * A `Uint8ArrayList` iterates over the buffers it holds: taking them one by one spares the copy
 * `subarray()` makes of a list of several (a 1 MiB frame arrives as ~16 of them).
 */
const isIterable = (c: ByteChunk): c is ByteChunk & Iterable<Uint8Array> =>
  typeof (c as Partial<Iterable<Uint8Array>>)[Symbol.iterator] === 'function'

/**
 * Incremental decoder: push chunks as they arrive, get whole frames back. Holds at most one
 * partial frame (≤ `maxBytes` plus its prefix), so a hostile peer cannot make it buffer more.
 */
export class FrameDecoder {
  readonly #maxBytes: number
  #chunks: Uint8Array[] = []
  #buffered = 0
  /** Length of the frame being assembled, once its prefix is complete. */
  #want = -1

  constructor(maxBytes = MAX_FRAME_BYTES) {
    this.#maxBytes = maxBytes
  }

  /** True while part of a frame (or of its prefix) has arrived but not all of it. */
  get partial(): boolean {
    return this.#buffered > 0 || this.#want >= 0
  }

  /** Feeds bytes; returns the frames they complete, in order. Throws on a bad or oversize prefix. */
  push(chunk: Uint8Array | ByteChunk): Uint8Array[] {
    if (chunk instanceof Uint8Array) this.#add(chunk)
    else if (isIterable(chunk)) for (const part of chunk) this.#add(part)
    else this.#add(chunk.subarray())
    const frames: Uint8Array[] = []
    for (;;) {
      if (this.#want < 0 && !this.#readPrefix()) break
      if (this.#buffered < this.#want) break
      frames.push(this.#take(this.#want))
      this.#want = -1
    }
    return frames
  }

  #add(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return
    this.#chunks.push(plainBytes(bytes))
    this.#buffered += bytes.byteLength
  }

  #readPrefix(): boolean {
    let value = 0
    let i = 0
    for (const chunk of this.#chunks) {
      for (const byte of chunk) {
        value += (byte & 0x7f) * 2 ** (7 * i)
        i++
        if ((byte & 0x80) === 0) {
          if (i > 1 && byte === 0) throw new InvalidFrameError('Non-minimal length prefix')
          assertFrameSize(value, this.#maxBytes)
          this.#take(i)
          this.#want = value
          return true
        }
        if (i >= MAX_VARINT_BYTES) throw new InvalidFrameError('Length prefix too long')
      }
    }
    return false
  }

  /** Removes and returns the first `n` buffered bytes (n ≤ buffered). */
  #take(n: number): Uint8Array {
    const first = this.#chunks[0]
    if (first !== undefined && first.byteLength >= n) {
      // Common case: no copy.
      const out = first.subarray(0, n)
      if (first.byteLength === n) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(n)
      this.#buffered -= n
      return out
    }
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const chunk = this.#chunks[0]
      if (chunk === undefined) throw new InvalidFrameError('Decoder underflow')
      const part = Math.min(n - filled, chunk.byteLength)
      out.set(chunk.subarray(0, part), filled)
      filled += part
      if (part === chunk.byteLength) this.#chunks.shift()
      else this.#chunks[0] = chunk.subarray(part)
    }
    this.#buffered -= n
    return out
  }
}
