import { libp2pFactory } from './helpers.ts'
import { registerPeerNetContract } from './peer-net.contract.ts'

registerPeerNetContract(
  'libp2p on the memory transport (Noise + yamux)',
  libp2pFactory({ transports: 'memory' }),
)
