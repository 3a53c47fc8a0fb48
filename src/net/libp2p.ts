/**
 * {@link PeerNet} on libp2p 3: Noise + yamux, gossipsub for topics, `/parley/sync/1.0.0` for requests.
 */
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { defaultLogger, prefixLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerDiscovery, PeerInfo } from '@libp2p/interface'
import type { GossipSub } from '@libp2p/gossipsub'
import { createLibp2p } from 'libp2p'
import { AdmissionGate } from './admission.ts'
import { CoolOff } from './cool-off.ts'
import {
  DIAL_TIMEOUT_MS,
  FLOOD_COOL_OFF_MS,
  FLOOD_REFUSED_PER_SECOND,
  MAX_CONNECTIONS,
} from './constants.ts'
import { AbortError, NotStartedError, PeerUnreachableError } from './errors.ts'
import { gatedComponents } from './gated-registrar.ts'
import { GossipRouter, parleyGossipsub } from './gossip.ts'
import { keepGossipStreams } from './gossip-streams.ts'
import { LinkMonitor } from './link-monitor.ts'
import { asPeerIdString } from './keys.ts'
import { parseMultiaddr, PeerTracker } from './peers.ts'
import { SyncProtocol } from './request.ts'
import { batchedWrites } from './batched-connection.ts'
import { loadProtector, loadTransports } from './transports.ts'
import { verifyWebRtcLinks } from './webrtc-check.ts'
import { halfWindowUpdates } from './yamux-window.ts'
import { parleyNoise } from './noise.ts'
import type { AbortOptions, PeerIdString, PeerNet, RequestHandler } from './index.ts'
import type { Libp2pNetComponents, Libp2pNetInit } from './libp2p-init.ts'

export { generateNetKey, peerIdOfKey } from './keys.ts'
export type { TransportProfile } from './transports.ts'
export type { Libp2pNetComponents, Libp2pNetInit } from './libp2p-init.ts'

/** Creates a stopped libp2p-backed {@link PeerNet}; call `start()`. */
export async function createLibp2pNet(
  init: Libp2pNetInit = {},
  components: Libp2pNetComponents = {},
): Promise<PeerNet> {
  const profile = init.transports ?? 'node'
  const logger =
    components.logger ??
    (init.logPrefix === undefined ? defaultLogger() : prefixLogger(init.logPrefix))
  const log = logger.forComponent('parley:net')
  const runOnLimitedConnection = init.runOnLimitedConnection ?? false
  const privateKey =
    init.privateKey === undefined
      ? await generateKeyPair('Ed25519')
      : privateKeyFromProtobuf(init.privateKey)

  // (a bootstrap peer, such as the Node peer serving a browser, is never blocked for a late proof)
  const isBootstrap = (peer: string): boolean => tracker.isBootstrap(peer)
  const gate =
    init.admission === undefined ? undefined : new AdmissionGate(init.admission, log, isBootstrap)
  // A peer flooding us with gossip we refuse is cut off for a while (cool-off.ts).
  const coolOff = new CoolOff()
  const tracker = new PeerTracker(log, init.bootstrap ?? [], gate, coolOff)
  const links = new LinkMonitor(log)
  let cutOff = (_peer: PeerIdString): void => undefined
  const flood =
    init.floodCutOff === false
      ? undefined
      : (init.floodCutOff ?? {
          refusedPerSecond: FLOOD_REFUSED_PER_SECOND,
          coolOffMs: FLOOD_COOL_OFF_MS,
        })
  const gossip = new GossipRouter(
    log,
    gate,
    flood === undefined
      ? undefined
      : { refusedPerSecond: flood.refusedPerSecond, onFlood: (peer) => cutOff(peer) },
  )
  const sync = new SyncProtocol(log, { runOnLimitedConnection, gate })
  const transport = await loadTransports(profile, peerIdFromPrivateKey(privateKey).toString())
  const listen = init.listen ?? transport.defaultListen
  let handler: RequestHandler | undefined
  const bulk =
    profile === 'node' && init.bulk !== false
      ? new (await import('./bulk.ts')).BulkChannels({
          log,
          gate,
          handler: () => handler,
          listen,
          port: typeof init.bulk === 'object' ? init.bulk.port : undefined,
          announcePort: typeof init.bulk === 'object' ? init.bulk.announcePort : undefined,
        })
      : undefined
  // Without a network key, connections are still wrapped: to write each job's sends as one.
  const connectionProtector =
    init.networkKey === undefined ? batchedWrites() : await loadProtector(init.networkKey, profile)
  const connectionGater = coolOff.gater({ ...gate?.gater(), ...transport.connectionGater })

  const peerDiscovery = [...(components.peerDiscovery ?? [])]
  if (init.mdns === true) {
    const { mdns } = await import('@libp2p/mdns')
    peerDiscovery.push(mdns())
  }
  const services = {
    identify: identify({ runOnLimitedConnection: true }),
    ping: ping(),
    pubsub:
      gate === undefined
        ? parleyGossipsub({ runOnLimitedConnection })
        : (components: Parameters<ReturnType<typeof parleyGossipsub>>[0]) =>
            parleyGossipsub({ runOnLimitedConnection })(gatedComponents(components, gate)),
    ...((init.relay ?? profile === 'node')
      ? { relay: (await import('@libp2p/circuit-relay-v2')).circuitRelayServer() }
      : {}),
  }

  halfWindowUpdates()
  const node = await createLibp2p({
    start: false,
    privateKey,
    logger,
    addresses: { listen, announce: init.announce ?? [] },
    transports: transport.transports,
    connectionEncrypters: [await parleyNoise(profile)],
    streamMuxers: [links.watch(yamux())],
    // libp2p 3 only emits `peer:discovery` for peers new to its peer store: wrap each discovery
    // module so that a rediscovered peer we lost is dialled again.
    peerDiscovery: peerDiscovery.map((factory) => (c) => watchDiscovery(factory(c), tracker)),
    connectionManager: { maxConnections: MAX_CONNECTIONS, dialTimeout: DIAL_TIMEOUT_MS },
    // link-monitor.ts pings instead, and replaces links stuck after a cut
    connectionMonitor: { enabled: false },
    connectionGater,
    connectionProtector,
    services,
  })
  const pubsub: GossipSub = node.services.pubsub
  cutOff = (peer) => {
    if (flood === undefined) return
    log.error(
      'cutting %s off for %d s: over %d gossip messages refused within a second',
      peer,
      flood.coolOffMs / 1000,
      flood.refusedPerSecond,
    )
    coolOff.add(peer, flood.coolOffMs)
    tracker.forget(peer)
    for (const conn of node.getConnections())
      if (conn.remotePeer.toString() === peer) conn.abort(new Error('cut off for flooding'))
  }

  let state: 'stopped' | 'started' = 'stopped'
  let stopVerifying = (): void => undefined
  let stopKeeping = (): void => undefined
  // start() and stop() run one at a time, in call order; each is a no-op when already there.
  let queue: Promise<void> = Promise.resolve()
  const serialize = (fn: () => Promise<void>): Promise<void> => {
    const next = queue.then(fn)
    queue = next.catch(() => {})
    return next
  }
  const assertStarted = (what: string): void => {
    if (state !== 'started') throw new NotStartedError(`${what} before start`)
  }

  const net: PeerNet = {
    peerId: asPeerIdString(node.peerId.toString()),
    start: () =>
      serialize(async () => {
        if (state === 'started') return
        try {
          await node.start()
          await gate?.attach(node)
          gossip.attach(pubsub)
          await sync.attach(node)
          await bulk?.attach(node)
        } catch (err) {
          await bulk?.detach()
          gossip.detach()
          await gate?.detach()
          await node.stop()
          throw err
        }
        tracker.attach(node)
        links.attach(node)
        if (profile === 'browser') stopVerifying = verifyWebRtcLinks(node, log)
        stopKeeping = keepGossipStreams(
          node,
          pubsub,
          runOnLimitedConnection,
          (peer) => gate === undefined || gate.isAdmitted(peer),
          log,
        )
        state = 'started'
        log('started %p on %a', node.peerId, node.getMultiaddrs())
      }),
    stop: () =>
      serialize(async () => {
        if (state === 'stopped') return
        state = 'stopped'
        stopVerifying()
        stopKeeping()
        links.detach()
        tracker.detach()
        gossip.detach()
        await bulk?.detach()
        await sync.detach()
        await gate?.detach()
        await node.stop()
        log('stopped %p', node.peerId)
      }),
    subscribe: (topic, onMessage, options) => gossip.subscribe(topic, onMessage, options),
    async publish(topic, data, options) {
      assertStarted('publish')
      return gossip.publish(topic, data, options)
    },
    onPeers: (cb) => tracker.onPeers(cb),
    onSubscribed: (cb) => gossip.onSubscribed(cb),
    peers: () => tracker.peers(),
    topicPeers: (topic) => gossip.topicPeers(topic),
    connections: () => tracker.connections(),
    quietFor: (peer) =>
      links.quietFor(node.getConnections().filter((c) => c.remotePeer.toString() === peer)),
    handle(h) {
      handler = h
      const off = sync.handle(h)
      return () => {
        off()
        if (handler === h) handler = undefined
      }
    },
    request: (peer, data, options = {}) =>
      options.bulk === true && bulk !== undefined
        ? bulk.request(peer, data, options, () => sync.request(peer, data, options))
        : sync.request(peer, data, options),
    async dial(addr: string, options: AbortOptions = {}): Promise<PeerIdString> {
      assertStarted('dial')
      const ma = parseMultiaddr(addr)
      const signal = AbortSignal.any([
        ...(options.signal === undefined ? [] : [options.signal]),
        AbortSignal.timeout(DIAL_TIMEOUT_MS),
      ])
      try {
        const conn = await node.dial(ma, { signal })
        return asPeerIdString(conn.remotePeer.toString())
      } catch (err) {
        if (options.signal?.aborted === true) throw new AbortError()
        throw new PeerUnreachableError(`Cannot dial ${addr}`, { cause: err })
      }
    },
    addresses() {
      if (state !== 'started') return []
      // libp2p adds /p2p/<id> to TCP and WebSocket addresses but not to /memory ones.
      const suffix = `/p2p/${node.peerId.toString()}`
      return node.getMultiaddrs().map((ma) => {
        const addr = ma.toString()
        return addr.endsWith(suffix) ? addr : `${addr}${suffix}`
      })
    },
    async evict(peer, options = {}) {
      if (state !== 'started') return
      tracker.forget(peer)
      gate?.evict(peer, 'evicted by the caller')
      const conns = node.getConnections().filter((c) => c.remotePeer.toString() === peer)
      await Promise.all(conns.map((c) => c.close(options).catch(() => c.abort(new AbortError()))))
    },
    readmitAll: async () => {
      if (state === 'started') await gate?.readmitAll()
    },
    onRefused: (cb) => gate?.onRefused(cb) ?? (() => undefined),
  }
  return net
}

/** Forwards every `peer` event of a discovery module to the tracker, repeats included. */
function watchDiscovery(discovery: PeerDiscovery, tracker: PeerTracker): PeerDiscovery {
  discovery.addEventListener('peer', (evt: CustomEvent<PeerInfo>) =>
    tracker.dialDiscovered(evt.detail),
  )
  return discovery
}
