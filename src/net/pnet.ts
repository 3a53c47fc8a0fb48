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
  StreamCloseEvent,
  StreamMessageEvent,
} from '@libp2p/interface'
import { AbstractMultiaddrConnection, byteStream } from '@libp2p/utils'
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

const isTransportConnection = (s: MessageStream): s is MultiaddrConnection => 'remoteAddr' in s

interface PrivateConnectionInit {
  maConn: MultiaddrConnection
  inbound: XSalsa20Stream
  outbound: XSalsa20Stream
  log: Logger
}

type SendList = Parameters<AbstractMultiaddrConnection['sendData']>[0]

class PrivateConnection extends AbstractMultiaddrConnection {
  readonly #maConn: MessageStream
  readonly #inbound: XSalsa20Stream
  readonly #outbound: XSalsa20Stream
  /** Decrypted bytes held until they show the opening; `undefined` once they have. */
  #held: Uint8Array[] | undefined = []
  /** Ciphertext sent during this job, written to the transport as one at its end. */
  #pending: Uint8Array[] = []
  /** The transport said it is full at the last write; until it drains, so do we. */
  #full = false

  constructor(init: PrivateConnectionInit) {
    super({ log: init.log, remoteAddr: init.maConn.remoteAddr, direction: init.maConn.direction })
    this.#maConn = init.maConn
    this.#inbound = init.inbound
    this.#outbound = init.outbound
    // Registered before the nonce exchange's leftover bytes are re-emitted (a microtask later).
    this.#maConn.addEventListener('message', (evt: StreamMessageEvent) => {
      const data = evt.data
      if (data instanceof Uint8Array) this.#receive(this.#inbound.update(data))
      else for (const buf of data) this.#receive(this.#inbound.update(buf))
    })
    this.#maConn.addEventListener('drain', () => {
      this.#full = false
      this.onMuxerDrain()
    })
    this.#maConn.addEventListener('close', (evt: StreamCloseEvent) => {
      if (evt.error === undefined) this.onTransportClosed()
      else if (evt.local === true) this.abort(evt.error)
      else this.onRemoteReset()
    })
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

  sendData(data: SendList): { sentBytes: number; canSendMore: boolean } {
    // One buffer, encrypted in place, for the whole list: Noise hands over each frame as three
    // (length, ciphertext, tag), and each would otherwise be its own socket write and cipher call.
    const out = new Uint8Array(data.byteLength)
    let at = 0
    for (const buf of data) {
      out.set(buf, at)
      at += buf.byteLength
    }
    this.#outbound.update(out, out)
    // Written at the end of this job, with whatever else is sent in it: yamux answers every data
    // frame it takes with a window update frame, so a burst of gossip read in one go was answered
    // with as many socket writes — under a flood, the costliest thing the receiver did (a
    // syscall each: docs/reliability.md, "Abuse"). The XSalsa20 stream is already applied, in order.
    this.#pending.push(out)
    if (this.#pending.length === 1) queueMicrotask(() => this.#flush())
    return { sentBytes: out.byteLength, canSendMore: !this.#full }
  }

  #flush(): void {
    const parts = this.#pending
    if (parts.length === 0) return
    this.#pending = []
    let out = parts[0]!
    if (parts.length > 1) {
      out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
      let at = 0
      for (const p of parts) {
        out.set(p, at)
        at += p.byteLength
      }
    }
    // The socket may have begun closing since this job's sends were queued (a one-shot command
    // stopping, the other side hanging up): nothing more can go out on it, and throwing from here
    // — a microtask — would crash the process.
    try {
      if (!this.#maConn.send(out)) this.#full = true
    } catch (err) {
      this.log(
        'dropped %d bytes queued for a connection that can no longer send: %e',
        out.byteLength,
        err,
      )
    }
  }

  async sendClose(options?: AbortOptions): Promise<void> {
    this.#flush()
    await this.#maConn.close(options)
  }

  sendReset(err: Error): void {
    // What was sent before the reset goes first, as it did when every send was written at once
    // (a refusal verdict, say, is sent just before its connection is aborted).
    this.#flush()
    this.#maConn.abort(err)
  }

  sendPause(): void {
    this.#maConn.pause()
  }

  sendResume(): void {
    this.#maConn.resume()
  }
}
