/**
 * The libp2p private network (PSK v1, libp2p/specs pnet/Private-Networks-PSK-V1.md): each side
 * sends a random 24-byte nonce, then every byte each way is XORed with XSalsa20 under the shared
 * 32-byte key and the sender's nonce. Wire-compatible with `@libp2p/pnet` and go-libp2p (tested
 * against `@libp2p/pnet` in test/net/pnet.test.ts), but with the keystream from libsodium, where
 * `@libp2p/pnet`'s WebAssembly `xsalsa20` cost a file transfer's sender 3–10 CPU s per GB.
 *
 * Two more differences, both invisible to the other side:
 * - The listener sends its nonce only once the dialer's has arrived. A Node 20 dialer over
 *   WebSocket (the `ws` polyfill) loses a nonce that comes with the upgrade response (`ws` fires
 *   `open` and that `message` in one tick, before libp2p listens) and the dial hangs until its
 *   timeout; by the time the dialer's nonce is here, the dialer is listening.
 * - The first bytes either side sends inside the private network are multistream-select's header
 *   (libp2p negotiates the encrypter with it, go-libp2p too). A peer with another key, or none,
 *   shows after those 20 bytes: the connection ends with {@link NetworkKeyMismatchError} (logged)
 *   instead of Noise waiting for garbage to make sense until the upgrade times out.
 */
import type {
  AbortOptions,
  ConnectionProtector,
  Logger,
  MessageStream,
  MultiaddrConnection,
} from '@libp2p/interface'
import { byteStream } from '@libp2p/utils'
import { BatchedConnection, isTransportConnection } from './batched-connection.ts'
import { NetworkKeyMismatchError } from './errors.ts'
import { XSalsa20Stream, type SalsaXor } from './xsalsa20.ts'

const NONCE_BYTES = 24
/** How long the nonce exchange may take when libp2p passes no signal (as `@libp2p/pnet`). */
const NONCE_TIMEOUT_MS = 1000
/** multistream-select's header, length-prefixed: `\x13/multistream/1.0.0\n`. */
const OPENING = new TextEncoder().encode('\x13/multistream/1.0.0\n')

export interface PrivateNetworkInit {
  /** The 32-byte pre-shared key. */
  key: Uint8Array
  /** Whole-block Salsa20 (`sodiumSalsa20` on Node). */
  xor: SalsaXor
}

/** A libp2p `connectionProtector` factory for the private network under `init.key`. */
export function privateNetwork(init: PrivateNetworkInit): () => ConnectionProtector {
  const key = init.key.slice()
  return () => ({
    [Symbol.toStringTag]: 'parley/pnet',
    protect: (conn, options) => protect(conn, key, init.xor, options),
  })
}

async function protect(
  conn: MessageStream,
  key: Uint8Array,
  xor: SalsaXor,
  options?: AbortOptions,
): Promise<MultiaddrConnection> {
  // libp2p's upgrader hands protectors the transport's connection (the interface says only
  // MessageStream); its address is what the protected connection reports.
  if (!isTransportConnection(conn)) throw new TypeError('pnet protects transport connections only')
  const log = conn.log.newScope('pnet')
  const signal = options?.signal ?? AbortSignal.timeout(NONCE_TIMEOUT_MS)
  const localNonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES))
  const bytes = byteStream(conn)
  let remote: { subarray(): Uint8Array }
  if (conn.direction === 'inbound') {
    remote = await bytes.read({ bytes: NONCE_BYTES, signal })
    await bytes.write(localNonce, { signal })
  } else {
    ;[remote] = await Promise.all([
      bytes.read({ bytes: NONCE_BYTES, signal }),
      bytes.write(localNonce, { signal }),
    ])
  }
  const remoteNonce = remote.subarray()
  // A peer with no key at all opens with multistream-select in the clear where the nonce goes.
  if (OPENING.every((byte, i) => remoteNonce[i] === byte)) {
    const err = new NetworkKeyMismatchError(`${conn.remoteAddr.toString()} holds no network key`)
    log.error('closing the connection: %e', err)
    conn.abort(err)
    throw err
  }
  log('exchanged nonces')
  return new PrivateConnection({
    maConn: bytes.unwrap(),
    inbound: new XSalsa20Stream(key, remoteNonce, xor),
    outbound: new XSalsa20Stream(key, localNonce, xor),
    log,
  })
}

interface PrivateConnectionInit {
  maConn: MultiaddrConnection
  inbound: XSalsa20Stream
  outbound: XSalsa20Stream
  log: Logger
}

class PrivateConnection extends BatchedConnection {
  readonly #inbound: XSalsa20Stream
  readonly #outbound: XSalsa20Stream
  /** Decrypted bytes held until they show the opening; `undefined` once they have. */
  #held: Uint8Array[] | undefined = []

  constructor(init: PrivateConnectionInit) {
    // The nonce exchange's leftover bytes are re-emitted a microtask later, once our fields are set.
    super(init)
    this.#inbound = init.inbound
    this.#outbound = init.outbound
  }

  protected override receive(data: Uint8Array): void {
    this.#receive(this.#inbound.update(data))
  }

  /** One call for all a send's buffers (Noise hands each frame over as three). */
  protected override seal(out: Uint8Array<ArrayBuffer>): void {
    this.#outbound.update(out, out)
  }

  #receive(plain: Uint8Array): void {
    if (this.#held === undefined) {
      this.onData(plain)
      return
    }
    this.#held.push(plain)
    const length = this.#held.reduce((n, b) => n + b.byteLength, 0)
    if (length < OPENING.byteLength) return
    const first = new Uint8Array(length)
    let at = 0
    for (const b of this.#held) {
      first.set(b, at)
      at += b.byteLength
    }
    this.#held = undefined
    if (OPENING.some((byte, i) => first[i] !== byte)) {
      const err = new NetworkKeyMismatchError(
        `${this.remoteAddr.toString()} holds another network key, or none`,
      )
      this.log.error('closing the connection: %e', err)
      this.abort(err)
      return
    }
    this.onData(first)
  }
}
