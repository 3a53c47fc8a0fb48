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
 * The libp2p private-network protector (`@libp2p/pnet`, XSalsa20 under a 32-byte pre-shared key)
 * for `networkKey`. It wraps every TCP, WebSocket, memory and circuit-relay connection before
 * Noise: a peer without the key fails the handshake. WebRTC connections skip connection
 * protectors (`skipProtection` in @libp2p/webrtc), so there admission alone keeps strangers out.
 */
export async function loadProtector(networkKey: Uint8Array): Promise<() => ConnectionProtector> {
  if (networkKey.byteLength !== 32) {
    throw new InvalidNetworkKeyError(`Network key of ${networkKey.byteLength} bytes, not 32`)
  }
  const { preSharedKey } = await import('@libp2p/pnet')
  const hex = Array.from(networkKey, (b) => b.toString(16).padStart(2, '0')).join('')
  // pnet reads the go-ipfs swarm.key text format.
  const psk = new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${hex}`)
  return preSharedKey({ psk })
}
