/**
 * Noise frames read without an exception per read.
 *
 * `@chainsafe/libp2p-noise` (17.0.0) reads its frames — a 2-byte length, then the ciphertext — with
 * `@libp2p/utils`' (7.4.1) `LengthPrefixedDecoder`, whose loop reads the next length after every
 * frame, from an empty buffer too; there Noise's length decoder throws a `RangeError` ("not enough
 * bytes"), which the loop catches and takes as "wait for more". A read that ends on a frame
 * boundary, nearly every read of every connection, so built and threw one Error, stack trace and
 * all: 4 µs a read in a micro-benchmark, and **9 % of an idle peer's CPU** in a 50-peer profile
 * (`uint16BEDecode` the costliest function after the socket write itself; docs/net.md).
 *
 * {@link LengthPrefixedDecoder.prototype.decode} is replaced by the same loop that stops once the
 * buffer is empty: the same frames, the same errors (a length cut in two by a read still stops it
 * by the decoder's `RangeError`, which is rare).
 */
import { InvalidParametersError } from '@libp2p/interface'
import { InvalidMessageLengthError, LengthPrefixedDecoder } from '@libp2p/utils'

/** What the decoder reads from and yields (`uint8arraylist`'s list, as @libp2p/utils has it). */
type Uint8ArrayList =
  ReturnType<LengthPrefixedDecoder['decode']> extends Generator<infer T> ? T : never

/** The fields of a decoder the loop reads (the class declares them; see its source). */
interface Decoder {
  buffer: Uint8ArrayList
  maxBufferSize: number
  maxDataLength: number
  lengthDecoder: (data: Uint8ArrayList) => number
  encodingLength: (length: number) => number
}

function* decode(this: Decoder, buf: Uint8Array | Uint8ArrayList): Generator<Uint8ArrayList> {
  this.buffer.append(buf)
  if (this.buffer.byteLength > this.maxBufferSize)
    throw new InvalidParametersError(
      `Buffer length limit exceeded - ${this.buffer.byteLength}/${this.maxBufferSize}`,
    )
  while (this.buffer.byteLength > 0) {
    let dataLength: number
    try {
      dataLength = this.lengthDecoder(this.buffer)
    } catch (err) {
      if (err instanceof RangeError) break // the length itself is not all here yet
      throw err
    }
    if (dataLength < 0 || dataLength > this.maxDataLength)
      throw new InvalidMessageLengthError('Invalid message length')
    const lengthLength = this.encodingLength(dataLength)
    const chunkLength = lengthLength + dataLength
    if (this.buffer.byteLength < chunkLength) break
    const frame = this.buffer.sublist(lengthLength, chunkLength)
    this.buffer.consume(chunkLength)
    if (frame.byteLength > 0) yield frame
  }
}

let installed = false

/** Installs the loop that stops at an empty buffer (idempotent). */
export function framesWithoutThrows(): void {
  if (installed) return
  installed = true
  ;(LengthPrefixedDecoder.prototype as unknown as { decode: typeof decode }).decode = decode
}
