/**
 * Transport profiles. Each is loaded with a dynamic import so that a bundle only pulls in its own
 * transports: the browser build never sees `@libp2p/tcp` (node:net), Node never loads WebRTC, and
 * `@libp2p/memory` (a dev dependency) is only loaded by tests.
 */
import type { ConnectionGater, ConnectionProtector } from '@libp2p/interface'
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
 * Every peer runs Parley's own protector (pnet.ts, wire-compatible with `@libp2p/pnet`): Node
 * peers on libsodium's Salsa20, browsers on `@noble/ciphers`'. Browsers used to run
 * `@libp2p/pnet`, whose WebAssembly `xsalsa20` runs out of memory after some tens of MB of
 * traffic and then breaks the browser's links (see `nobleSalsa20` in xsalsa20.ts).
 */
export async function loadProtector(
  networkKey: Uint8Array,
  profile: TransportProfile,
): Promise<() => ConnectionProtector> {
  if (networkKey.byteLength !== 32) {
    throw new InvalidNetworkKeyError(`Network key of ${networkKey.byteLength} bytes, not 32`)
  }
  const [{ privateNetwork }, xor] = await Promise.all([
    import('./pnet.ts'),
    profile === 'browser'
      ? import('./xsalsa20.ts').then((m) => m.nobleSalsa20)
      : import('./xsalsa20-native.ts').then((m) => m.sodiumSalsa20),
  ])
  return privateNetwork({ key: networkKey, xor })
}
