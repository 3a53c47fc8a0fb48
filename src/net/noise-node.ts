/**
 * Noise's crypto on Node: `@chainsafe/libp2p-noise`'s own (node:crypto for SHA-256, X25519 and
 * large ChaCha20-Poly1305 frames) with HKDF by node:crypto too. The library derives its keys with
 * `@noble/hashes`' HKDF in JavaScript on every platform; a handshake does it six times. Measured
 * (bench/micro/noise-hkdf.ts): a process's first six derivations 2.7–4.7 ms (noble, compiled on
 * first use) against 0.45 ms, then 15–17 µs against 11–13 µs each — the first handshake of a peer
 * (a joiner's dial, a restarted peer's) is that much sooner, on both sides. Same output: RFC 5869
 * extract and expand ([NOISEHK1]).
 * Node only: noise.ts imports it for the node and memory profiles, never in the browser.
 */
import { hkdfSync } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'

const NO_INFO = new Uint8Array(0)

export const nodeNoiseCrypto: typeof defaultCrypto = {
  ...defaultCrypto,
  getHKDF(ck, ikm) {
    const okm = new Uint8Array(hkdfSync('sha256', ikm, ck, NO_INFO, 96))
    return [okm.subarray(0, 32), okm.subarray(32, 64), okm.subarray(64, 96)]
  },
}
