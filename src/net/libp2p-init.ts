/**
 * What {@link createLibp2pNet} (libp2p.ts) takes: the options of a peer and the dependencies a
 * caller may inject.
 */
import type { ComponentLogger } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'
import type { TransportProfile } from './transports.ts'
import type { Admission } from './index.ts'

export interface Libp2pNetInit {
  /**
   * Protobuf-encoded libp2p private key (see {@link generateNetKey}), so that a peer keeps its id
   * across restarts.
   * @default a fresh Ed25519 key: a new peer id on every run
   */
  privateKey?: Uint8Array
  /**
   * Multiaddrs to listen on, e.g. `/ip4/127.0.0.1/tcp/0` and `/ip4/127.0.0.1/tcp/0/ws`.
   * @default node: TCP and WebSocket on 0.0.0.0, random ports; memory: `/memory/<peer id>`;
   * browser: `/p2p-circuit` and `/webrtc`
   */
  listen?: string[]
  /**
   * Multiaddrs to announce instead of the listening ones (e.g. behind port forwarding).
   * @default [] (announce what we listen on)
   */
  announce?: string[]
  /**
   * Discover LAN peers with mDNS and dial them. mDNS multicasts on every interface: keep it off in
   * tests and in the host network namespace of shared machines.
   * @default false
   */
  mdns?: boolean
  /**
   * Multiaddrs (ideally with `/p2p/<id>`) dialled at start and redialled with backoff whenever
   * the connection is lost, until `stop()`.
   * @default []
   */
  bootstrap?: string[]
  /**
   * Transport profile: `node` (TCP + WebSocket), `memory` (in-process, for tests), `browser`
   * (WebSocket dial + circuit relay v2 + WebRTC).
   * @default 'node'
   */
  transports?: TransportProfile
  /**
   * Run a circuit relay v2 server, so that browsers, which cannot listen, reach each other
   * through us and then upgrade to a direct WebRTC link.
   * @default true for `node`, false otherwise
   */
  relay?: boolean
  /**
   * Carry gossipsub and sync requests over relayed (limited) connections too. Off: relayed links
   * only set up direct ones, and the data waits for those.
   * @default false
   */
  runOnLimitedConnection?: boolean
  /**
   * Prefix of every log line of this node (handy with several nodes in one process).
   * @default none: logs go to `parley:net` and libp2p's own namespaces
   */
  logPrefix?: string
  /**
   * Who may stay connected: our proof, sent on every new peer's first connection, and a verdict
   * on theirs. Until a peer is admitted (both ways) it is not in `peers()`, gets and gives no
   * gossip, and no requests; refused or silent peers are disconnected and kept out a while.
   * @default none: every peer that connects is a peer
   */
  admission?: Admission
  /**
   * 32-byte pre-shared network key (libp2p private network, PSK v1: src/net/pnet.ts): TCP, WebSocket and
   * relayed connections only work between peers holding it. WebRTC skips it (admission does not).
   * @default none: an open network
   */
  networkKey?: Uint8Array
  /**
   * The bulk side channel for `request(…, { bulk: true })` between Node peers (src/net/bulk.ts): a
   * plain TCP listener on the hosts of the TCP `listen` addresses, on `port` (@default 0: one the
   * system picks). `announcePort` tells peers another port (port forwarding). Off: such requests
   * take the libp2p stream like every other.
   * @default on for the `node` profile, off otherwise
   */
  bulk?: boolean | { port?: number; announcePort?: number }
  /**
   * A peer that has more than `refusedPerSecond` gossip messages refused within a second by our
   * subscriptions' `accept` checks is disconnected and kept out (no dial, no connection either way)
   * for `coolOffMs` (cool-off.ts): refused messages cost the transport, Noise and gossipsub before
   * they can be refused. `false`: never (tests that send hostile input in bulk on purpose).
   * @default `{ refusedPerSecond: FLOOD_REFUSED_PER_SECOND, coolOffMs: FLOOD_COOL_OFF_MS }`
   */
  floodCutOff?: false | { refusedPerSecond: number; coolOffMs: number }
}

/** Dependencies a caller may inject instead of the defaults. */
export interface Libp2pNetComponents {
  /** libp2p's component logger; `parley:net` lines go through it too. @default `@libp2p/logger` */
  logger?: ComponentLogger
  /** Extra peer discovery modules (tests inject fakes here; mDNS is added by `init.mdns`). */
  peerDiscovery?: NonNullable<Libp2pOptions['peerDiscovery']>
}
