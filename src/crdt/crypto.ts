/**
 * The two primitives the signed history needs, as interfaces so that each platform plugs in its fastest
 * implementation: {@link nobleCrypto} runs everywhere (browsers included), `src/node/crypto-node.ts` uses
 * node:crypto. Every peer must reach the same verdict on a signature, whichever implementation checks
 * it, or a crafted head would be accepted by some peers and refused by others. Parley's rule is
 * OpenSSL's: RFC 8032 with canonical encodings, `S < L`, the cofactorless equation `[S]B = R + [k]A`,
 * plus one rule of its own: public keys of small order are refused (anyone can sign for those).
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { bytesToNumberLE } from '@noble/curves/utils.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import { concatBytes } from '@noble/hashes/utils.js'

/** Hashing and signature checking, everything a receiver needs to verify history. */
export interface HistoryCrypto {
  /** SHA-256 of `data` (32 bytes). */
  sha256(data: Uint8Array): Uint8Array
  /**
   * Whether `sig` is a valid Ed25519 signature of `msg` by the raw 32-byte `publicKey`. Resolves `false`
   * (never rejects) for malformed keys or signatures.
   */
  verify(publicKey: Uint8Array, sig: Uint8Array, msg: Uint8Array): Promise<boolean>
  /**
   * SHA-256 of each of `data`, in order: the same hashes as {@link HistoryCrypto.sha256}. Optional,
   * for an implementation that hashes big batches off the calling thread (the browser's crypto
   * worker, src/core/crypto-offload.ts); without it callers hash one by one.
   */
  sha256Many?(data: readonly Uint8Array[]): Promise<Uint8Array[]>
}

/** The hashes of `data` from {@link HistoryCrypto.sha256Many}, or undefined where it has none. */
export async function sha256Batch(
  crypto: HistoryCrypto,
  data: readonly Uint8Array[],
): Promise<Uint8Array[] | undefined> {
  return crypto.sha256Many === undefined ? undefined : crypto.sha256Many(data)
}

/** The local device's signing key. The secret never leaves the implementation. */
export interface DeviceSigner {
  /** Raw 32-byte Ed25519 public key: the author id of every entry this device writes. */
  readonly publicKey: Uint8Array
  /** 64-byte Ed25519 signature of `msg`. */
  sign(msg: Uint8Array): Promise<Uint8Array>
  /**
   * X25519 shared secret of this device's key (the Montgomery form of its Ed25519 secret) and the
   * X25519 public key `theirs`: how room keys wrapped for this device are opened (src/crdt/e2ee.ts).
   * Rejects for a public key of small order. Absent: this device cannot hold room keys.
   */
  agree?(theirs: Uint8Array): Promise<Uint8Array>
}

/** Length of Ed25519 public keys and secret seeds. */
export const KEY_BYTES = 32
/** Length of Ed25519 signatures. */
export const SIG_BYTES = 64

const { Point } = ed25519

/** Whether `publicKey` is a canonical encoding of a curve point not of small order: a usable author key. */
export function isValidAuthorKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== KEY_BYTES) return false
  try {
    return !Point.fromBytes(publicKey, false).isSmallOrder()
  } catch {
    // not a canonical point encoding
    return false
  }
}

/**
 * The parts of Parley's rule checked without the curve equation: lengths, a usable key (canonical,
 * not of small order), `S < L`, a canonical `R`. The point `R`, or undefined when they fail.
 */
function strictInputs(
  publicKey: Uint8Array,
  sig: Uint8Array,
): InstanceType<typeof Point> | undefined {
  if (sig.length !== SIG_BYTES || !isValidAuthorKey(publicKey)) return undefined
  if (bytesToNumberLE(sig.subarray(32)) >= Point.Fn.ORDER) return undefined
  try {
    return Point.fromBytes(sig.subarray(0, 32), false)
  } catch {
    // not a canonical point encoding
    return undefined
  }
}

function verifyStrict(publicKey: Uint8Array, sig: Uint8Array, msg: Uint8Array): boolean {
  const R = strictInputs(publicKey, sig)
  if (R === undefined) return false
  const r = sig.subarray(0, 32)
  const s = bytesToNumberLE(sig.subarray(32))
  const A = Point.fromBytes(publicKey, false)
  const k = Point.Fn.create(bytesToNumberLE(sha512(concatBytes(r, publicKey, msg))))
  // cofactorless, like OpenSSL (noble's own verify is cofactored: it accepts R with a torsion part)
  return Point.BASE.multiplyUnsafe(s).equals(R.add(A.multiplyUnsafe(k)))
}

/** Portable {@link HistoryCrypto} on @noble/hashes and @noble/curves. */
export const nobleCrypto: HistoryCrypto = {
  sha256: (data) => sha256(data),
  verify: (publicKey, sig, msg) => Promise.resolve(verifyStrict(publicKey, sig, msg)),
}

/** Most public keys a {@link createWebCrypto} keeps imported. */
const WEB_KEY_CACHE = 256

/**
 * A {@link HistoryCrypto} whose signature checks run in the platform's WebCrypto Ed25519 (native:
 * BoringSSL in Chromium, OpenSSL in Node), after the parts of Parley's rule it does not check
 * itself (small-order keys; canonical encodings and `S < L`, which it also refuses): the same
 * verdicts as {@link nobleCrypto}, without noble's first verification building its base-point
 * tables on the calling thread (40–70 ms of a page load's main thread, measured in Chromium).
 * Where WebCrypto has no Ed25519 (a page that is not a secure context, an older browser), or
 * refuses an input, the check is noble's.
 */
export function createWebCrypto(
  subtle: SubtleCrypto | undefined = (globalThis.crypto as Crypto | undefined)?.subtle,
): HistoryCrypto {
  const keys = new Map<string, Promise<CryptoKey>>()
  let native = subtle !== undefined
  const keyFor = (publicKey: Uint8Array): Promise<CryptoKey> => {
    const id = publicKey.join()
    let key = keys.get(id)
    if (key === undefined) {
      if (keys.size >= WEB_KEY_CACHE) keys.delete(keys.keys().next().value!)
      key = subtle!.importKey('raw', new Uint8Array(publicKey), { name: 'Ed25519' }, false, [
        'verify',
      ])
      keys.set(id, key)
      key.catch(() => keys.delete(id))
    }
    return key
  }
  return {
    sha256: (data) => sha256(data),
    async verify(publicKey, sig, msg) {
      if (!native) return verifyStrict(publicKey, sig, msg)
      if (strictInputs(publicKey, sig) === undefined) return false
      try {
        const key = await keyFor(publicKey)
        return await subtle!.verify(
          { name: 'Ed25519' },
          key,
          new Uint8Array(sig),
          new Uint8Array(msg),
        )
      } catch (err) {
        // no Ed25519 in this WebCrypto: noble from now on; any other refusal: noble decides
        if ((err as Error).name === 'NotSupportedError') native = false
        return verifyStrict(publicKey, sig, msg)
      }
    },
  }
}

/**
 * A {@link DeviceSigner} from a raw 32-byte Ed25519 secret seed, on @noble/curves. `publicKey`:
 * its public key when the caller has already checked it (an unlocked account), which spares the
 * first base-point multiplication (noble builds its tables then: tens of ms) until the first sign.
 */
export function createNobleSigner(
  secretKey: Uint8Array,
  knownPublicKey?: Uint8Array,
): DeviceSigner {
  if (secretKey.length !== KEY_BYTES) throw new RangeError('Ed25519 secret key must be 32 bytes')
  const seed = secretKey.slice()
  const publicKey = knownPublicKey?.slice() ?? ed25519.getPublicKey(seed)
  return {
    publicKey,
    sign: (msg) => Promise.resolve(ed25519.sign(msg, seed)),
    agree: x25519Agreement(seed),
  }
}

/**
 * The {@link DeviceSigner.agree} of the Ed25519 secret seed `secretKey`: X25519 with its Montgomery
 * secret (RFC 7748 from RFC 8032's clamped scalar, as libsodium's `crypto_sign_ed25519_sk_to_curve25519`).
 */
export function x25519Agreement(
  secretKey: Uint8Array,
): (theirs: Uint8Array) => Promise<Uint8Array> {
  if (secretKey.length !== KEY_BYTES) throw new RangeError('Ed25519 secret key must be 32 bytes')
  const secret = ed25519.utils.toMontgomerySecret(secretKey)
  return (theirs) => {
    try {
      // noble refuses an all-zero result (a public key of small order)
      return Promise.resolve(x25519.getSharedSecret(secret, theirs))
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)))
    }
  }
}

/** A fresh device key: 32 random bytes from `crypto.getRandomValues` as the seed, and its public key. */
export function generateDeviceKey(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = crypto.getRandomValues(new Uint8Array(KEY_BYTES))
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) }
}
