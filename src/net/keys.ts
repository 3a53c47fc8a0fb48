/**
 * The libp2p identity key of a peer, stored by the caller as protobuf bytes so that a peer keeps
 * its id across restarts.
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerIdString } from './index.ts'

/** A new Ed25519 libp2p private key, protobuf-encoded: pass it as `Libp2pNetInit.privateKey`. */
export async function generateNetKey(): Promise<Uint8Array> {
  return privateKeyToProtobuf(await generateKeyPair('Ed25519'))
}

/** The peer id that the protobuf-encoded private key `bytes` gives a net. Throws on malformed bytes. */
export function peerIdOfKey(bytes: Uint8Array): PeerIdString {
  return asPeerIdString(peerIdFromPrivateKey(privateKeyFromProtobuf(bytes)).toString())
}

/** Brands a libp2p peer id string. Only for strings that come from a libp2p `PeerId`. */
export function asPeerIdString(id: string): PeerIdString {
  return id as PeerIdString
}
