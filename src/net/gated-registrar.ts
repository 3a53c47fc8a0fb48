/**
 * Keeps a libp2p service (gossipsub) from seeing peers that are not admitted: the service gets a
 * registrar whose topology `onConnect` is held back until the peer is admitted, and whose stream
 * handlers hold an inbound stream until then (or abort it when the peer is refused or leaves).
 * The service never learns of an unadmitted peer, so it sends it nothing — no flood publish, no
 * mesh, no IHAVE gossip — and takes nothing from it, not even subscriptions.
 *
 * Why not gossipsub's peer scoring (an app-specific score below the graylist threshold): a
 * graylisted peer's whole RPC is ignored, subscriptions included, and gossipsub only sends
 * subscriptions when a stream opens or a topic changes — so a peer admitted a moment later would
 * stay unknown on every topic it had joined. Scores are also cached for a heartbeat (1 s), and
 * `acceptFrom` whitelists a well-scored peer for 1 s / 128 messages, so an evicted peer's
 * messages would still be taken for up to a second. (docs/net.md, "Admission")
 */
import type { gossipsub } from '@libp2p/gossipsub'
import type { Connection, PeerId, Stream, Topology } from '@libp2p/interface'
import type { AdmissionGate } from './admission.ts'

/** libp2p's internal registrar, as services see it. */
type Registrar = Parameters<ReturnType<typeof gossipsub>>[0]['registrar']

/** `components` with its registrar replaced by a gated one (libp2p components are a Proxy). */
export function gatedComponents<C extends { registrar: Registrar }>(
  components: C,
  gate: AdmissionGate,
): C {
  const registrar = gatedRegistrar(components.registrar, gate)
  return new Proxy(components, {
    get: (target, prop, receiver) =>
      prop === 'registrar' ? registrar : (Reflect.get(target, prop, receiver) as unknown),
  })
}

function gatedRegistrar(inner: Registrar, gate: AdmissionGate): Registrar {
  const unregister = new Map<string, () => void>()
  const gated: Partial<Registrar> = {
    handle: (protocol, handler, options) =>
      inner.handle(
        protocol,
        (stream: Stream, conn: Connection) => {
          const peer = conn.remotePeer.toString()
          if (gate.isAdmitted(peer)) return handler(stream, conn)
          const closed = new AbortController()
          stream.addEventListener('close', () => closed.abort(), { once: true })
          gate
            .whenAdmitted(peer, closed.signal)
            .then(async (ok) => {
              if (ok && stream.status === 'open') await handler(stream, conn)
              else stream.abort(new Error('peer not admitted'))
            })
            .catch((err: unknown) =>
              stream.abort(err instanceof Error ? err : new Error(String(err))),
            )
        },
        options,
      ),
    async register(protocol, topology) {
      const { wrapped, off } = gatedTopology(topology, gate)
      const id = await inner.register(protocol, wrapped)
      unregister.set(id, off)
      return id
    },
    unregister(id) {
      unregister.get(id)?.()
      unregister.delete(id)
      inner.unregister(id)
    },
  }
  return new Proxy(inner, {
    get: (target, prop, receiver) =>
      prop in gated
        ? (gated as Record<string | symbol, unknown>)[prop]
        : (Reflect.get(target, prop, receiver) as unknown),
  })
}

/** `onConnect` only for admitted peers: held back, then replayed on admission. */
function gatedTopology(
  topology: Topology,
  gate: AdmissionGate,
): { wrapped: Topology; off: () => void } {
  const held = new Set<string>()
  const replay = (peer: string): void => {
    if (!held.has(peer) || !gate.isAdmitted(peer)) return
    const conn = gate
      .connections(peer)
      .find(
        (c) =>
          c.status === 'open' &&
          (c.limits === undefined || topology.notifyOnLimitedConnection === true),
      )
    if (conn === undefined) return
    held.delete(peer)
    void Promise.resolve(topology.onConnect?.(conn.remotePeer, conn)).catch(() => undefined)
  }
  const off = gate.onChange(replay)
  const wrapped: Topology = {
    ...(topology.notifyOnLimitedConnection === undefined
      ? {}
      : { notifyOnLimitedConnection: topology.notifyOnLimitedConnection }),
    onConnect(peerId: PeerId, conn: Connection) {
      const peer = peerId.toString()
      if (gate.isAdmitted(peer)) return topology.onConnect?.(peerId, conn)
      held.add(peer)
    },
    onDisconnect(peerId: PeerId) {
      held.delete(peerId.toString())
      return topology.onDisconnect?.(peerId)
    },
  }
  return { wrapped, off }
}
