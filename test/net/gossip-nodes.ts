/**
 * Bare libp2p nodes running Parley's gossipsub configuration (memory transport, or TCP on
 * 127.0.0.1 where addresses matter; Noise, yamux), for the tests of the gossip layer itself.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { memory } from '@libp2p/memory'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { parleyGossipsub } from '../../src/net/gossip.ts'

export type GossipNode = Libp2p<{ pubsub: GossipSub }>

/** `n` started nodes, linked to nobody. */
export function gossipNodes(n: number, over: 'memory' | 'tcp' = 'memory'): Promise<GossipNode[]> {
  return Promise.all(
    Array.from({ length: n }, () =>
      createLibp2p({
        addresses: {
          listen: [
            over === 'tcp' ? '/ip4/127.0.0.1/tcp/0' : '/memory/gossip-' + crypto.randomUUID(),
          ],
        },
        transports: [over === 'tcp' ? tcp() : memory()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        services: {
          identify: identify(),
          pubsub: parleyGossipsub({ runOnLimitedConnection: false }),
        },
      }),
    ),
  )
}
