/**
 * Noise's crypto on Node: `@chainsafe/libp2p-noise`'s own (node:crypto for SHA-256, large
 * ChaCha20-Poly1305 frames) with two of its parts replaced, for the same bytes
 * (`npx tsx bench/micro/noise-crypto.ts`, fresh processes, 7 December 2026):
 *
 * - X25519 by libsodium (sodium-native, which Node peers already load for Ed25519 and the private
 *   network). The library goes through node:crypto key objects, DER-wrapping each raw key: a
 *   handshake's key pair and three Diffie-Hellmans took 1.63–1.74 ms so, 0.11–0.13 ms now (the
 *   first in a process 2.4–3.6 ms, now 0.35–0.54).
 * - HKDF by node:crypto's `hkdfSync` (RFC 5869 extract and expand); the library derives its keys
 *   with `@noble/hashes`' HKDF in JavaScript on every platform, six times a handshake: a process's
 *   first six took 2.8–6.0 ms (compiled on first use), now 0.46–0.81 ms; warm 16–20 µs each, now
 *   11–17.
 *
 * Both sides of every handshake do this: a joiner's first dial, a peer's redial after a cut. The
 * keys are the library's ([NOISEHK1–2]). Node only: noise.ts imports it for the node and memory
 * profiles, never in the browser.
 */
import { hkdfSync } from 'node:crypto'
import sodium from 'sodium-native'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'

const NO_INFO = new Uint8Array(0)

function keyPairFromSecret(secret: Uint8Array): { publicKey: Uint8Array; privateKey: Uint8Array } {
  const publicKey = new Uint8Array(32)
  sodium.crypto_scalarmult_base(publicKey, secret)
  return { publicKey, privateKey: secret }
}

export const nodeNoiseCrypto: typeof defaultCrypto = {
  ...defaultCrypto,
  getHKDF(ck, ikm) {
    const okm = new Uint8Array(hkdfSync('sha256', ikm, ck, NO_INFO, 96))
    return [okm.subarray(0, 32), okm.subarray(32, 64), okm.subarray(64, 96)]
  },
  generateX25519KeyPair() {
    const secret = new Uint8Array(32)
    sodium.randombytes_buf(secret)
    return keyPairFromSecret(secret)
  },
  generateX25519KeyPairFromSeed(seed) {
    return keyPairFromSecret(Uint8Array.from(seed))
  },
  generateX25519SharedKey(privateKey, publicKey) {
    const shared = new Uint8Array(32)
    // throws on a low-order public key (an all-zero secret), as node:crypto and noble do;
    // `subarray()` views a Uint8Array or a Uint8ArrayList as one Uint8Array
    sodium.crypto_scalarmult(shared, privateKey.subarray(), publicKey.subarray())
    return shared
  },
}
