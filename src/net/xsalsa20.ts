/**
 * One direction of a libp2p private-network connection: the XSalsa20 keystream for a 32-byte key
 * and a 24-byte nonce, XORed over the bytes in order as they come, whatever their chunking (the
 * PSK spec, libp2p/specs pnet/Private-Networks-PSK-V1.md; what go-libp2p and `@libp2p/pnet` do).
 *
 * XSalsa20 is Salsa20 under a subkey: HSalsa20(key, nonce[0..16]) with nonce[16..24] as Salsa20's
 * nonce. The subkey is derived once here (`@noble/ciphers`); whole 64-byte blocks go to a
 * {@link SalsaXor} (libsodium on Node, see xsalsa20-native.ts; {@link nobleSalsa20} in browsers);
 * a block split between two chunks is finished from a saved copy of its keystream.
 */
import { __TESTS, hsalsa, salsa20 } from '@noble/ciphers/salsa.js'

/**
 * Salsa20 (20 rounds, 32-byte key, 8-byte nonce): `output` = `input` XOR the keystream from block
 * number `counter` on (`input.byteLength` a multiple of 64; every block number below
 * {@link XOR_BLOCK_LIMIT}, so the 64-bit counter's high word stays 0).
 */
export type SalsaXor = (
  input: Uint8Array,
  output: Uint8Array,
  nonce: Uint8Array,
  counter: number,
  key: Uint8Array,
) => void

const BLOCK = 64
/** "expand 32-byte k" as little-endian words (the Salsa20 constants for 32-byte keys). */
const SIGMA = Uint32Array.of(0x61707865, 0x3320646e, 0x79622d32, 0x6b206574)
const TWO_32 = 2 ** 32
/**
 * Block numbers a {@link SalsaXor} is given stay below this; the stream does the blocks from here on
 * (past 256 GiB one way) itself. `@noble/ciphers` refuses block 2^32 − 1 rather than carry.
 */
export const XOR_BLOCK_LIMIT = TWO_32 - 1

/**
 * Salsa20 in plain JavaScript (`@noble/ciphers`): the browsers' {@link SalsaXor}. Not the
 * WebAssembly `xsalsa20` package (`@libp2p/pnet`'s): each of its streams keeps a view of the
 * shared WebAssembly memory that goes stale (length 0) when another stream grows it, so the next
 * write grows the memory again by its own size; after one large write, a few hundred writes
 * taking turns between two streams reach the memory's 64 MiB maximum, and from then on every
 * stream that has to grow throws `RangeError: WebAssembly.Memory.grow(): Maximum memory size
 * exceeded` — a browser's links to its Node peer die after some tens of MB of file transfer.
 */
export const nobleSalsa20: SalsaXor = (input, output, nonce, counter, key) => {
  salsa20(key, nonce, input, output, counter)
}

/** Little-endian 32-bit words of `bytes` (a copy: `bytes` may sit at any offset). */
const words = (bytes: Uint8Array): Uint32Array => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return Uint32Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getUint32(i * 4, true))
}

const bytesOf = (w: Uint32Array): Uint8Array => {
  const out = new Uint8Array(w.length * 4)
  const view = new DataView(out.buffer)
  w.forEach((v, i) => view.setUint32(i * 4, v, true))
  return out
}

/** XORs the XSalsa20 keystream over a byte stream, chunk by chunk. */
export class XSalsa20Stream {
  readonly #subkey: Uint8Array
  readonly #nonce: Uint8Array
  readonly #xor: SalsaXor
  /** Keystream bytes used so far (a double: exact up to 2^53, 8 PiB). */
  #pos = 0
  /** The keystream of the block `#pos` is inside, when `#pos` is not on a block boundary. */
  readonly #block = new Uint8Array(BLOCK)
  readonly #zeros = new Uint8Array(BLOCK)

  /**
   * @param key - 32 bytes
   * @param nonce - 24 bytes
   * @param xor - whole-block Salsa20
   */
  constructor(key: Uint8Array, nonce: Uint8Array, xor: SalsaXor) {
    if (key.byteLength !== 32) throw new RangeError(`XSalsa20 key of ${key.byteLength} bytes`)
    if (nonce.byteLength !== 24) throw new RangeError(`XSalsa20 nonce of ${nonce.byteLength} bytes`)
    const subkey = new Uint32Array(8)
    hsalsa(SIGMA, words(key), words(nonce.subarray(0, 16)), subkey)
    this.#subkey = bytesOf(subkey)
    this.#nonce = nonce.slice(16, 24)
    this.#xor = xor
  }

  /**
   * `input` XORed with the next `input.byteLength` bytes of keystream, into `out` (a new array
   * unless given; `out` may be `input` itself, for in place).
   */
  update(input: Uint8Array, out = new Uint8Array(input.byteLength)): Uint8Array {
    const len = input.byteLength
    if (out.byteLength !== len) throw new RangeError('output and input lengths differ')
    const offset = this.#pos % BLOCK
    const head = Math.min((BLOCK - offset) % BLOCK, len)
    for (let i = 0; i < head; i++) out[i] = input[i]! ^ this.#block[offset + i]!
    this.#pos += head
    const whole = len - head - ((len - head) % BLOCK)
    if (whole > 0) {
      this.#blocks(input.subarray(head, head + whole), out.subarray(head, head + whole))
      this.#pos += whole
    }
    const tail = len - head - whole
    if (tail > 0) {
      this.#blocks(this.#zeros, this.#block)
      for (let i = len - tail; i < len; i++) out[i] = input[i]! ^ this.#block[i - len + tail]!
      this.#pos += tail
    }
    return out
  }

  /**
   * Moves the keystream position to byte `pos` as if that many bytes had passed (tests reach the
   * 64-bit counter's high word with it, which would otherwise take 256 GiB of traffic).
   */
  seek(pos: number): void {
    this.#pos = pos - (pos % BLOCK)
    if (pos % BLOCK !== 0) this.#blocks(this.#zeros, this.#block)
    this.#pos = pos
  }

  /** Whole blocks from the one `#pos` is in. */
  #blocks(input: Uint8Array, output: Uint8Array): void {
    const counter = Math.floor(this.#pos / BLOCK)
    const blocks = input.byteLength / BLOCK
    const fast = Math.max(0, Math.min(blocks, XOR_BLOCK_LIMIT - counter))
    if (fast > 0) {
      const n = fast * BLOCK
      this.#xor(input.subarray(0, n), output.subarray(0, n), this.#nonce, counter, this.#subkey)
    }
    if (fast === blocks) return
    // Past 256 GiB one way: SalsaXor takes no counter's high word, so block by block with
    // noble's core, which does.
    const keystream = new Uint32Array(16)
    for (let b = fast; b < blocks; b++) {
      const c = counter + b
      __TESTS.salsaCore(
        SIGMA,
        words(this.#subkey),
        words(this.#nonce),
        keystream,
        c % TWO_32,
        20,
        Math.floor(c / TWO_32),
      )
      const ks = bytesOf(keystream)
      for (let i = 0; i < BLOCK; i++) output[b * BLOCK + i] = input[b * BLOCK + i]! ^ ks[i]!
    }
  }
}
