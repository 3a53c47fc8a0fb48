/**
 * The Yjs `clientID` of an author: derived from its public key, so that every peer builds byte-identical
 * documents from the same entries and state vectors are comparable across peers.
 *
 * Width: 48 bits. Yjs 13.6 writes client ids as lib0 varuints (`Math.floor` arithmetic, no 32-bit
 * operators), and test/crdt/period-doc.test.ts checks that ids up to 2^53 - 1 survive updates (v1 and
 * v2), state vectors and snapshots. With 48 bits, two of `n` authors collide with probability about
 * n² / 2^49: 1.8e-7 for 10,000 devices (32 bits would give 1.2 %). A collision is not a forgery (every
 * record names its author and is checked against the signed entry's key), but the two authors would
 * share one clock sequence in a document, so their updates would block each other there ('overlap',
 * 'gap'). Grinding a key to hit a chosen author's id costs about 2^48 hashes and only buys that
 * blockage; callers that want to rule it out can refuse a second author with a known client id.
 */

/** Number of bits of sha256(publicKey) in a client id. */
export const CLIENT_ID_BITS = 48
/** Client ids are below this. */
export const CLIENT_ID_LIMIT = 2 ** CLIENT_ID_BITS

/**
 * The Yjs client id of the author with raw public key `publicKey`: the first 48 bits of
 * `sha256(publicKey)`, big-endian, a safe integer. `sha256` is injected so that this module stays
 * independent of any crypto implementation.
 */
export function clientIdOf(
  publicKey: Uint8Array,
  sha256: (data: Uint8Array) => Uint8Array,
): number {
  const hash = sha256(publicKey)
  if (hash.length < CLIENT_ID_BITS / 8) throw new RangeError('sha256 returned too few bytes')
  let id = 0
  for (let i = 0; i < CLIENT_ID_BITS / 8; i++) id = id * 256 + (hash[i] ?? 0)
  return id
}

/** Whether `v` can be a client id from {@link clientIdOf}. */
export function isClientId(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0 && v < CLIENT_ID_LIMIT
}
