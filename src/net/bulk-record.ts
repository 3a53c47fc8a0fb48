/**
 * The records of the bulk side channel (bulk.ts): keys, sealing and opening. Pure apart from
 * node:crypto; no sockets, no libp2p.
 *
 * ```
 * record   = u32 length L (big-endian, the AAD) ‖ AES-256-GCM(kind ‖ body) (L bytes) ‖ tag (16 bytes)
 * nonce    = 4 zero bytes ‖ u64 record counter of this direction (0, 1, 2, …)
 * keys     = HKDF-SHA256(secret, salt = token, info = "parley bulk 1 <direction> <server id> <client id>")
 * ```
 * Each channel has a fresh random secret and token (sent over the libp2p connection, which is
 * Noise-authenticated and, in an organisation, inside the private network), so keys never repeat
 * across channels; each direction has its own key and its own counter, so no (key, nonce) pair is
 * used twice. A record the receiver cannot open (wrong key, a flipped bit, a replayed or reordered
 * record: the counter moved on), an empty one or one above the limit throws `BulkChannelError`.
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto'
import { BulkChannelError } from './errors.ts'

/** node:crypto's AES-256-GCM (AES-NI); measured against ChaCha20-Poly1305 in bench/micro/aead.ts. */
const ALGO = 'aes-256-gcm'
const TAG_BYTES = 16
const LENGTH_BYTES = 4
/**
 * Bytes of a body encrypted per `update`. node:crypto allocates every update's output twice (one
 * byte too large, then an exact copy); 1 MiB outputs come from fresh pages each time, 64 KiB ones
 * from reused heap memory: the sender's page faults per GB fell to a third (docs/benchmarks.md).
 */
const SEAL_SLICE = 64 * 1024
export const BULK_TOKEN_BYTES = 32
export const BULK_SECRET_BYTES = 32

/** What a record carries: its first plaintext byte. */
export const RecordKind = {
  /** Server → client, once: the token was accepted (and the server holds the keys). */
  ready: 1,
  /** Client → server: one request frame. */
  request: 2,
  /** Server → client: one response frame. */
  frame: 3,
  /** Server → client: the response ended normally; the channel takes the next request. */
  end: 4,
  /** Server → client: the response failed (body: a short UTF-8 reason). */
  error: 5,
} as const
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind]
const KINDS = new Set<number>(Object.values(RecordKind))

export interface BulkRecord {
  kind: RecordKind
  body: Buffer
}

export interface ChannelKeys {
  send: Buffer
  receive: Buffer
}

/** The two directions' keys of one channel, as `role` uses them. */
export function channelKeys(
  secret: Uint8Array,
  token: Uint8Array,
  server: string,
  client: string,
  role: 'server' | 'client',
): ChannelKeys {
  const key = (direction: string): Buffer =>
    Buffer.from(
      hkdfSync('sha256', secret, token, `parley bulk 1 ${direction} ${server} ${client}`, 32),
    )
  const toServer = key('client-to-server')
  const toClient = key('server-to-client')
  return role === 'client'
    ? { send: toServer, receive: toClient }
    : { send: toClient, receive: toServer }
}

function nonce(counter: number): Buffer {
  const iv = Buffer.alloc(12)
  iv.writeUInt32BE(Math.floor(counter / 2 ** 32), 4)
  iv.writeUInt32BE(counter >>> 0, 8)
  return iv
}

/** Seals the records of one direction, counting them. */
export class RecordSealer {
  readonly #key: Buffer
  readonly #maxBody: number
  #counter = 0

  constructor(key: Buffer, maxBody: number) {
    this.#key = key
    this.#maxBody = maxBody
  }

  /** The buffers of one record, to be written in this order (one `writev`). */
  seal(kind: RecordKind, body: Uint8Array = new Uint8Array(0)): Buffer[] {
    if (body.byteLength > this.#maxBody) {
      throw new BulkChannelError(`Record body of ${body.byteLength} bytes exceeds ${this.#maxBody}`)
    }
    if (this.#counter >= Number.MAX_SAFE_INTEGER) throw new BulkChannelError('Record counter spent')
    const header = Buffer.allocUnsafe(LENGTH_BYTES)
    header.writeUInt32BE(body.byteLength + 1, 0)
    const cipher = createCipheriv(ALGO, this.#key, nonce(this.#counter++), {
      authTagLength: TAG_BYTES,
    })
    cipher.setAAD(header)
    const parts = [header, cipher.update(Buffer.of(kind))]
    for (let at = 0; at < body.byteLength; at += SEAL_SLICE) {
      parts.push(cipher.update(body.subarray(at, at + SEAL_SLICE)))
    }
    cipher.final()
    parts.push(cipher.getAuthTag())
    return parts
  }
}

/**
 * Opens the records of one direction as bytes arrive. Holds at most one partial record (≤ the
 * largest body plus 21 bytes), so a hostile peer cannot make it buffer more.
 */
export class RecordReader {
  readonly #key: Buffer
  readonly #maxBody: number
  #counter = 0
  #chunks: Buffer[] = []
  #buffered = 0
  /** Length L of the record being assembled, once its header is in. */
  #want = -1

  constructor(key: Buffer, maxBody: number) {
    this.#key = key
    this.#maxBody = maxBody
  }

  /** True while part of a record has arrived but not all of it. */
  get partial(): boolean {
    return this.#buffered > 0 || this.#want >= 0 || this.#headerFill > 0
  }

  // Zero-copy input (a socket's `onread`): the socket reads straight into the record's buffer.
  // Use either this pair or `push`, never both on one reader.
  readonly #header = Buffer.alloc(LENGTH_BYTES)
  #headerFill = 0
  #record: Buffer | undefined
  #fill = 0
  /**
   * The sealed bytes of the record being read, reused for the next one (it is opened into a new
   * buffer before that starts): grows to the largest record seen, at most `maxBody` + 17 bytes.
   */
  #scratch: Buffer | undefined

  /** Where the next read must land: the rest of the length, or the rest of the record. */
  target(): Buffer {
    return this.#record === undefined
      ? this.#header.subarray(this.#headerFill)
      : this.#record.subarray(this.#fill)
  }

  /** `n` bytes were read into `target()`: the record they complete, if any. Throws as `push`. */
  filled(n: number): BulkRecord | undefined {
    if (this.#record === undefined) {
      this.#headerFill += n
      if (this.#headerFill < LENGTH_BYTES) return undefined
      this.#headerFill = 0
      this.#want = this.#checkLength(this.#header.readUInt32BE(0))
      const size = this.#want + TAG_BYTES
      if (this.#scratch === undefined || this.#scratch.byteLength < size) {
        this.#scratch = Buffer.allocUnsafeSlow(size)
      }
      this.#record = this.#scratch.subarray(0, size)
      this.#fill = 0
      return undefined
    }
    this.#fill += n
    if (this.#fill < this.#record.byteLength) return undefined
    const rec = this.#open(this.#record, this.#want)
    this.#record = undefined
    this.#want = -1
    return rec
  }

  #checkLength(length: number): number {
    if (length < 1 || length > this.#maxBody + 1) {
      throw new BulkChannelError(`Record of ${length} bytes (at most ${this.#maxBody + 1})`)
    }
    return length
  }

  /** Feeds bytes; returns the records they complete, in order. Throws `BulkChannelError`. */
  push(chunk: Buffer): BulkRecord[] {
    if (chunk.byteLength > 0) {
      this.#chunks.push(chunk)
      this.#buffered += chunk.byteLength
    }
    const out: BulkRecord[] = []
    for (;;) {
      if (this.#want < 0) {
        if (this.#buffered < LENGTH_BYTES) break
        this.#want = this.#checkLength(this.#take(LENGTH_BYTES).readUInt32BE(0))
      }
      if (this.#buffered < this.#want + TAG_BYTES) break
      const sealed = this.#take(this.#want + TAG_BYTES)
      out.push(this.#open(sealed, this.#want))
      this.#want = -1
    }
    return out
  }

  #open(sealed: Buffer, length: number): BulkRecord {
    const header = Buffer.allocUnsafe(LENGTH_BYTES)
    header.writeUInt32BE(length, 0)
    const decipher = createDecipheriv(ALGO, this.#key, nonce(this.#counter++), {
      authTagLength: TAG_BYTES,
    })
    decipher.setAAD(header)
    decipher.setAuthTag(sealed.subarray(length))
    const plain = decipher.update(sealed.subarray(0, length))
    try {
      decipher.final()
    } catch (err) {
      throw new BulkChannelError('Record fails authentication', { cause: err })
    }
    const kind = plain[0]!
    if (!KINDS.has(kind)) throw new BulkChannelError(`Unknown record kind ${kind}`)
    return { kind: kind as RecordKind, body: plain.subarray(1) }
  }

  /** Removes and returns the first `n` buffered bytes (n ≤ buffered); copies only across chunks. */
  #take(n: number): Buffer {
    const first = this.#chunks[0]!
    let out: Buffer
    if (first.byteLength >= n) {
      out = first.subarray(0, n)
      if (first.byteLength === n) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(n)
    } else {
      out = Buffer.allocUnsafe(n)
      let filled = 0
      while (filled < n) {
        const chunk = this.#chunks[0]!
        const part = Math.min(n - filled, chunk.byteLength)
        chunk.copy(out, filled, 0, part)
        filled += part
        if (part === chunk.byteLength) this.#chunks.shift()
        else this.#chunks[0] = chunk.subarray(part)
      }
    }
    this.#buffered -= n
    return out
  }
}
