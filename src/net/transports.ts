/**
 * Transport profiles. Each is loaded with a dynamic import so that a bundle only pulls in its own
 * transports: the browser build never sees `@libp2p/tcp` (node:net), Node never loads WebRTC, and
 * `@libp2p/memory` (a dev dependency) is only loaded by tests.
 */
import type {
  ConnectionGater,
  ConnectionProtector,
  MessageStream,
  StreamMessageEvent,
} from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'
import { InvalidNetworkKeyError } from './errors.ts'

/** Which transports a net uses. */
export type TransportProfile = 'node' | 'memory' | 'browser'

export interface TransportConfig {
  transports: NonNullable<Libp2pOptions['transports']>
  connectionGater?: ConnectionGater
  /** Where to listen when `Libp2pNetInit.listen` is not given. */
  defaultListen: string[]
}

/**
 * - `node`: TCP and WebSocket (listen and dial; Node 20 dials WebSocket through the `ws` global
 *   polyfill in src/node/polyfill.ts).
 * - `memory`: `@libp2p/memory`, in-process only, for tests. Noise and yamux still run on top.
 * - `browser`: WebSocket dial to Node peers, circuit relay v2 through them, and WebRTC upgrade to
 *   direct browser↔browser links without STUN (`iceServers: []`, LAN only).
 */
export async function loadTransports(
  profile: TransportProfile,
  id: string,
): Promise<TransportConfig> {
  switch (profile) {
    case 'node': {
      const [{ tcp }, { webSockets }] = await Promise.all([
        import('@libp2p/tcp'),
        import('@libp2p/websockets'),
      ])
      return {
        transports: [tcp(), webSockets()],
        defaultListen: ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws'],
      }
    }
    case 'memory': {
      const { memory } = await import('@libp2p/memory')
      return { transports: [memory()], defaultListen: [`/memory/${id}`] }
    }
    case 'browser': {
      const [{ webSockets }, { webRTC }, { circuitRelayTransport }] = await Promise.all([
        import('@libp2p/websockets'),
        import('@libp2p/webrtc'),
        import('@libp2p/circuit-relay-v2'),
      ])
      return {
        transports: [
          webSockets(),
          webRTC({ rtcConfiguration: { iceServers: [] } }),
          circuitRelayTransport(),
        ],
        // The default browser gater refuses ws:// and private addresses: exactly a LAN app's peers.
        connectionGater: { denyDialMultiaddr: () => false },
        defaultListen: ['/p2p-circuit', '/webrtc'],
      }
    }
  }
}

/**
 * The libp2p private-network protector (XSalsa20 under a 32-byte pre-shared key) for
 * `networkKey`. It wraps every TCP, WebSocket, memory and circuit-relay connection before
 * Noise: a peer without the key fails the handshake. WebRTC connections skip connection
 * protectors (`skipProtection` in @libp2p/webrtc), so there admission alone keeps strangers out.
 *
 * Node peers use Parley's own protector (pnet.ts, libsodium's Salsa20); browsers, which only dial
 * (WebSocket to a Node peer), keep `@libp2p/pnet`. Both speak the same protocol.
 */
export async function loadProtector(
  networkKey: Uint8Array,
  profile: TransportProfile,
): Promise<() => ConnectionProtector> {
  if (networkKey.byteLength !== 32) {
    throw new InvalidNetworkKeyError(`Network key of ${networkKey.byteLength} bytes, not 32`)
  }
  if (profile !== 'browser') {
    const [{ privateNetwork }, { sodiumSalsa20 }] = await Promise.all([
      import('./pnet.ts'),
      import('./xsalsa20-native.ts'),
    ])
    return privateNetwork({ key: networkKey, xor: sodiumSalsa20 })
  }
  const { preSharedKey } = await import('@libp2p/pnet')
  const hex = Array.from(networkKey, (b) => b.toString(16).padStart(2, '0')).join('')
  // @libp2p/pnet reads the go-ipfs swarm.key text format.
  const pnet = preSharedKey({
    psk: new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${hex}`),
  })
  return () => listenerWaits(pnet())
}

/**
 * `@libp2p/pnet` opens with both sides sending a nonce at once. A Node 20 dialer over WebSocket
 * (the `ws` polyfill) loses a nonce that arrives with the upgrade response (see pnet.ts), so the
 * listener (a browser, on a relayed connection) sends its nonce only once the dialer's has arrived
 * (put back for pnet to read). Parley's own protector does this by itself.
 */
function listenerWaits(inner: ConnectionProtector): ConnectionProtector {
  return {
    async protect(conn, options) {
      if (conn.direction === 'inbound') await firstBytes(conn, options?.signal)
      return inner.protect(conn, options)
    },
  }
}

function firstBytes(conn: MessageStream, signal?: AbortSignal): Promise<void> {
  if (conn.readBufferLength > 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      conn.removeEventListener('message', onMessage)
      conn.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
    }
    const onMessage = (evt: StreamMessageEvent): void => {
      cleanup()
      conn.unshift(evt.data)
      resolve()
    }
    const onClose = (): void => {
      cleanup()
      reject(new Error('connection closed before the pnet nonce'))
    }
    const onAbort = (): void => {
      cleanup()
      reject(new Error('no pnet nonce in time'))
    }
    conn.addEventListener('message', onMessage)
    conn.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort)
    if (signal?.aborted === true) onAbort()
  })
}
