/**
 * Keeps gossipsub sending to a peer that came back while its old connection lingered.
 *
 * Gossipsub sends to a peer over one outbound stream, opened when the peer connects or opens a
 * stream to us, and none if it holds one already. A peer killed and restarted at once (same key)
 * connects anew while our link to its old process is still open (a kill -9 is noticed only by
 * the link monitor, seconds later): gossipsub keeps the outbound stream of the old link, and when
 * that link closes the stream goes with it and no other is opened — libp2p reports no new
 * connect, the peer never left. Every message we publish then reaches everyone but that peer,
 * for as long as the new link lives (seen in [NET10]; test [GOSSIP1]). So when a
 * connection closes and the peer still has an open one but gossipsub no outbound stream to it,
 * gossipsub is told the peer is connected on the open one: it opens the stream as on a connect.
 * A sweep each second does the same for a peer left without one any other way, and hands back
 * a connected peer gossipsub forgot (a disconnect handled after the reconnect).
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Connection, Libp2p, Logger, PeerId } from '@libp2p/interface'
import { afterReads } from './after-reads.ts'

/** How often peers without an outbound gossip stream are looked for. */
export const GOSSIP_STREAM_SWEEP_MS = 1_000

/** Gossipsub's outbound stream: the libp2p stream it writes to. */
interface OutboundStream {
  rawStream?: { status: string; writeStatus: string; abort: (err: Error) => void }
}

/**
 * Whether gossipsub can still write to `s`. One that closed before gossipsub listened for its
 * close (its link went while the stream was being opened) stays in gossipsub's map, closed, and
 * gossipsub opens no other while it is there: seen in [NET10], a restarted peer that never got
 * another message from us.
 */
const writable = (s: OutboundStream): boolean =>
  s.rawStream === undefined ||
  (s.rawStream.status === 'open' && s.rawStream.writeStatus === 'writable')

/**
 * What of gossipsub's class this reads (not in its exported interface; the version is pinned and
 * [GOSSIP1] fails if these change): its peers, its outbound streams by peer, and its own
 * handler of a connected peer (its topology's onConnect), which queues an outbound stream.
 */
interface GossipInternals {
  peers: Map<string, PeerId>
  streamsOutbound: Map<string, OutboundStream>
  topics: Map<string, Set<string>>
  onPeerConnected?: (peerId: PeerId, conn: Connection) => void
}

/**
 * Watches `node`'s closing connections for `pubsub` and sweeps its peers; returns the function
 * that stops it. `limited`: whether gossipsub runs on limited (relayed) connections.
 */
export function keepGossipStreams(
  node: Libp2p,
  pubsub: GossipSub,
  limited: boolean,
  admitted: (peer: string) => boolean,
  log: Logger,
): () => void {
  const inner = pubsub as unknown as GossipInternals
  const onPeerConnected = inner.onPeerConnected
  if (
    typeof onPeerConnected !== 'function' ||
    !(inner.streamsOutbound instanceof Map) ||
    !(inner.topics instanceof Map)
  ) {
    log.error('gossipsub has changed: a peer back on a new link may miss our gossip')
    return () => undefined
  }
  let stopped = false
  const openLink = (peer: PeerId): Connection | undefined =>
    node
      .getConnections(peer)
      .find((c) => c.status === 'open' && (limited || c.limits === undefined))
  /** Has gossipsub queue an outbound stream to `peer` if it is connected and has none. */
  const repair = (peer: PeerId, why: string): void => {
    const id = peer.toString()
    if (stopped || !inner.peers.has(id)) return
    const held = inner.streamsOutbound.get(id)
    if (held !== undefined && writable(held)) return
    const open = openLink(peer)
    if (open === undefined) return
    if (held !== undefined) {
      // gossipsub would keep it forever: gone, so that it opens another
      inner.streamsOutbound.delete(id)
      held.rawStream?.abort(new Error('gossip stream no longer writable'))
    }
    log('no gossip stream to %p (%s): opening one', peer, why)
    onPeerConnected.call(inner, peer, open)
  }
  /**
   * Peers gossipsub forgot while they are still connected: libp2p tells a topology of a
   * disconnect after a peer-store read, so the disconnect of a restarted peer's old link can
   * come after its new link did, and gossipsub drops the peer — yet its subscriptions, already
   * on their way, still land in the topics. Such a peer is handed back as connected.
   */
  const forgotten = (): void => {
    const ids = new Set<string>()
    for (const members of inner.topics.values())
      for (const id of members) if (!inner.peers.has(id)) ids.add(id)
    for (const c of node.getConnections()) {
      const id = c.remotePeer.toString()
      if (!ids.has(id) || !admitted(id)) continue
      const open = openLink(c.remotePeer)
      if (open === undefined) continue
      ids.delete(id)
      log('gossipsub forgot connected peer %p: handing it back', c.remotePeer)
      onPeerConnected.call(inner, c.remotePeer, open)
    }
  }
  const onClose = (evt: CustomEvent<Connection>): void => {
    const peer = evt.detail.remotePeer
    void afterReads().then(() => repair(peer, 'its stream went with a closed link'))
  }
  // Any other way to be left without one (an outbound stream that failed to open is never
  // retried by gossipsub: a negotiation that timed out on a loaded peer, say) is found by a sweep.
  const sweep = setInterval(() => {
    for (const peer of [...inner.peers.values()]) repair(peer, 'found by the sweep')
    forgotten()
  }, GOSSIP_STREAM_SWEEP_MS)
  ;(sweep as { unref?: () => void }).unref?.()
  node.addEventListener('connection:close', onClose)
  return () => {
    stopped = true
    clearInterval(sweep)
    node.removeEventListener('connection:close', onClose)
  }
}
