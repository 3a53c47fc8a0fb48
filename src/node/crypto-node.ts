/**
 * {@link HistoryCrypto} and {@link DeviceSigner} on node:crypto (OpenSSL) and libsodium: several times
 * faster than the portable noble implementation, and interoperable with it: the same hashes, the same
 * signatures, the same verdicts (see src/crdt/crypto.ts for the rule).
 *
 * A signature is checked by libsodium first (`sodium-native`, already here for the private network):
 * half the time of OpenSSL's Ed25519 on these machines (51 against 107 µs; `npx tsx
 * bench/micro/ed25519-verify.ts`), and every peer checks every message it takes. libsodium's rule is
 * Parley's with one check more — it also refuses an `R` of small order, which OpenSSL (Parley's rule)
 * accepts when the equation holds — so what libsodium accepts is valid, and what it refuses is asked
 * of OpenSSL, whose verdict is final. An honest signature never has a small-order `R` (it is `[r]B`):
 * the second check costs only refused signatures.
 */
import { createPublicKey, verify as edVerify, hash, type KeyObject } from 'node:crypto'
import {
  crypto_sign_detached as sodiumSign,
  crypto_sign_seed_keypair as sodiumSeedKeypair,
  crypto_sign_verify_detached as sodiumVerify,
} from 'sodium-native'
import {
  KEY_BYTES,
  SIG_BYTES,
  isValidAuthorKey,
  x25519Agreement,
  type DeviceSigner,
  type HistoryCrypto,
} from '../crdt/crypto.ts'

// The DER header that wraps a raw Ed25519 public key (RFC 8410 SubjectPublicKeyInfo)
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
/** libsodium's Ed25519 secret key: the 32-byte seed, then the 32-byte public key. */
const SIGNING_KEY_BYTES = 64

export interface NodeCryptoInit {
  /**
   * How many parsed public keys to keep (a sync verifies one head per author, over and over).
   * @default 1024
   */
  keyCacheSize?: number
}

/** Raw 32-byte Ed25519 public key → node KeyObject. */
export function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const der = Buffer.concat([SPKI_PREFIX, publicKey])
  return createPublicKey({ key: der, format: 'der', type: 'spki' })
}

/** A {@link HistoryCrypto} on node:crypto, with its own small LRU of parsed public keys. */
export function createNodeCrypto(init: NodeCryptoInit = {}): HistoryCrypto {
  const cacheSize = init.keyCacheSize ?? 1024
  // null: a key refused by isValidAuthorKey (OpenSSL would accept small-order keys)
  const keys = new Map<string, KeyObject | null>()

  function keyFor(publicKey: Uint8Array): KeyObject | null {
    const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.length).toString('hex')
    let key = keys.get(id)
    if (key !== undefined) {
      keys.delete(id) // re-inserted below: Map order is recency order
    } else {
      key = isValidAuthorKey(publicKey) ? publicKeyObject(publicKey) : null
      if (keys.size >= cacheSize) {
        const oldest = keys.keys().next()
        if (oldest.done !== true) keys.delete(oldest.value)
      }
    }
    keys.set(id, key)
    return key
  }

  return {
    // one-shot: half the CPU of createHash().update().digest() per 460-byte entry (Node ≥ 20.12)
    sha256: (data) => new Uint8Array(hash('sha256', data, 'buffer')),
    verify: (publicKey, sig, msg) => {
      if (publicKey.length !== KEY_BYTES || sig.length !== SIG_BYTES) return Promise.resolve(false)
      try {
        const key = keyFor(publicKey)
        if (key === null) return Promise.resolve(false)
        return Promise.resolve(sodiumVerify(sig, msg, publicKey) || edVerify(null, msg, key, sig))
      } catch {
        // OpenSSL refusing input is a failed verification: data from the network never throws
        return Promise.resolve(false)
      }
    },
  }
}

/** Shared default instance of {@link createNodeCrypto}. */
export const nodeCrypto: HistoryCrypto = createNodeCrypto()

/**
 * A {@link DeviceSigner} from a raw 32-byte Ed25519 secret seed (the same seed noble takes). Signs
 * with libsodium (18 µs against OpenSSL's 36 here); Ed25519 is deterministic, so the signatures are
 * the ones OpenSSL and noble make ([CRY2]).
 */
export function createNodeSigner(secretKey: Uint8Array): DeviceSigner {
  if (secretKey.length !== KEY_BYTES) throw new RangeError('Ed25519 secret key must be 32 bytes')
  const publicKey = new Uint8Array(KEY_BYTES)
  const signingKey = new Uint8Array(SIGNING_KEY_BYTES) // libsodium's form: the seed, then the public key
  sodiumSeedKeypair(publicKey, signingKey, secretKey)
  return {
    publicKey,
    sign: (msg) => {
      const sig = new Uint8Array(SIG_BYTES)
      sodiumSign(sig, msg, signingKey)
      return Promise.resolve(sig)
    },
    // one ECDH per room key received: noble's portable X25519 is fast enough, the seed stays here
    agree: x25519Agreement(secretKey),
  }
}
