/**
 * Noise as Parley runs it: `@chainsafe/libp2p-noise` with, in the browser, X25519 key pairs by the
 * Montgomery ladder, on Node X25519 by libsodium and HKDF by node:crypto (noise-node.ts); and its
 * frames read without an exception per read.
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
import { noise } from '@chainsafe/libp2p-noise'
import { defaultCrypto as noiseCrypto } from '@chainsafe/libp2p-noise/crypto'
import { x25519 } from '@noble/curves/ed25519.js'
import { InvalidParametersError } from '@libp2p/interface'
import { InvalidMessageLengthError, LengthPrefixedDecoder } from '@libp2p/utils'
import type { TransportProfile } from './transports.ts'

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

/** X25519's base point, u = 9 (RFC 7748). */
const X25519_BASE = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 9 : 0))

/**
 * Noise for the browser profile: its X25519 key pairs by the Montgomery ladder (a few ms each)
 * rather than noble's fixed-base multiplication, whose first use builds its point tables. Noise
 * makes its static key when the node is created, which in the browser precedes the first paint of
 * a reload: measured 60–165 ms of main thread there (Chromium, loaded 2-core machine). Handshakes
 * are few, so the ladder's per-key cost does not matter; everything else is noise's own crypto.
 */
const ladderNoiseCrypto: typeof noiseCrypto = {
  ...noiseCrypto,
  generateX25519KeyPair() {
    const secretKey = x25519.utils.randomSecretKey()
    return { publicKey: x25519.scalarMult(secretKey, X25519_BASE), privateKey: secretKey }
  },
}

let installed = false

/** Installs the loop that stops at an empty buffer (idempotent). */
export function framesWithoutThrows(): void {
  if (installed) return
  installed = true
  ;(LengthPrefixedDecoder.prototype as unknown as { decode: typeof decode }).decode = decode
}

/** The connection encrypter of a node of `profile`, with the frame reader above installed. */
export async function parleyNoise(profile: TransportProfile): Promise<ReturnType<typeof noise>> {
  framesWithoutThrows()
  // loaded only off the browser: it imports node:crypto
  const crypto =
    profile === 'browser' ? ladderNoiseCrypto : (await import('./noise-node.ts')).nodeNoiseCrypto
  return noise({ crypto })
}
