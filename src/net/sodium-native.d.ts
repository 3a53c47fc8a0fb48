/** The `sodium-native` functions Parley uses (the package ships no types). */
declare module 'sodium-native' {
  /** Salsa20 XOR from block `ic` on: `c` = `m` XOR keystream(`n`, `k`). */
  export function crypto_stream_salsa20_xor_ic(
    c: Uint8Array,
    m: Uint8Array,
    n: Uint8Array,
    ic: number,
    k: Uint8Array,
  ): void
  /** Whether `signature` is a valid Ed25519 signature of `message` by the raw 32-byte `publicKey`. */
  export function crypto_sign_verify_detached(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
  ): boolean
  /** Derives an Ed25519 key pair from a 32-byte seed: `pk` (32 bytes), `sk` (64: seed, then pk). */
  export function crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void
  /** X25519: `q` (32 bytes) = the public key of the 32-byte secret `n`. */
  export function crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void
  /** X25519: `q` (32 bytes) = the secret shared by secret `n` and public key `p`; throws if it is all zeros. */
  export function crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void
  /** Fills `buffer` with random bytes. */
  export function randombytes_buf(buffer: Uint8Array): void
  /** Signs `message` with the 64-byte `secretKey` into `signature` (64 bytes). */
  export function crypto_sign_detached(
    signature: Uint8Array,
    message: Uint8Array,
    secretKey: Uint8Array,
  ): void
}
