/**
 * Writing and verifying one author's hash chain in one room (docs/architecture.md, "Authorship").
 *
 * A signed head authenticates the entry it names; each entry authenticates its predecessor through
 * `prev`. So verification walks backwards from something trusted, hashing before decoding: no byte is
 * parsed before it is known to be the author's.
 */
import { sha256Batch, type DeviceSigner, type HistoryCrypto } from './crypto.ts'
import { BrokenChainError, ChainGapError, InvalidSignatureError } from './errors.ts'
import { compareHlc, nextHlc, type HybridClock, type Hlc } from './hlc.ts'
import {
  META_PERIOD,
  ZERO_HASH,
  decodeEntry,
  encodeEntry,
  equalBytes,
  periodOf,
  signHead,
  verifyHead,
  type Entry,
  type SignedHead,
} from './entry.ts'

/** An entry together with its canonical bytes and their hash. */
export interface VerifiedEntry {
  entry: Entry
  bytes: Uint8Array
  hash: Uint8Array
}

/** The newest entry of a chain: `seq` 0 and {@link ZERO_HASH} for an empty chain. */
export interface ChainTip {
  seq: number
  hash: Uint8Array
}

/** A point in one author's chain in one room known to be authentic, e.g. a verified {@link SignedHead}. */
export interface ChainAnchor extends ChainTip {
  room: string
  author: Uint8Array
}

export interface ChainWriterInit {
  room: string
  signer: DeviceSigner
  crypto: HistoryCrypto
  clock: HybridClock
  /** The chain so far. @default empty (the first entry is seq 1) */
  tip?: ChainTip
  /** The hlc of the entry at `tip`: entries get strictly greater ones even if the clock disagrees. */
  lastHlc?: Hlc
}

/**
 * Appends entries to the local device's chain in one room. Appending is synchronous and needs no
 * signature; {@link ChainWriter.signHead} signs the current tip once per burst.
 */
export class ChainWriter {
  readonly room: string
  readonly #init: ChainWriterInit
  #tip: ChainTip
  #lastHlc: Hlc | undefined

  constructor(init: ChainWriterInit) {
    this.room = init.room
    this.#init = init
    this.#tip = init.tip ?? { seq: 0, hash: ZERO_HASH }
    this.#lastHlc = init.lastHlc
    if (init.lastHlc !== undefined) init.clock.observe(init.lastHlc)
  }

  /** The newest entry written. */
  get tip(): ChainTip {
    return { ...this.#tip }
  }

  /**
   * The next entry, carrying `update`, stamped now. `options.meta` puts it in the room's meta document
   * ({@link META_PERIOD}). Throws {@link MalformedEntryError} if `update` is empty or too large.
   */
  append(update: Uint8Array, options: { meta?: boolean } = {}): VerifiedEntry {
    let hlc = this.#init.clock.now()
    // the clock refuses to observe far-future stamps, so our own past entries may still be ahead of it
    if (this.#lastHlc !== undefined && compareHlc(hlc, this.#lastHlc) <= 0)
      hlc = nextHlc(this.#lastHlc)
    const entry: Entry = {
      room: this.room,
      author: this.#init.signer.publicKey,
      seq: this.#tip.seq + 1,
      prev: this.#tip.hash,
      hlc,
      period: options.meta === true ? META_PERIOD : periodOf(hlc.wall),
      update,
    }
    const bytes = encodeEntry(entry)
    const hash = this.#init.crypto.sha256(bytes)
    this.#tip = { seq: entry.seq, hash }
    this.#lastHlc = hlc
    return { entry, bytes, hash }
  }

  /** A signed head for the current tip. Throws a `RangeError` before the first entry. */
  signHead(): Promise<SignedHead> {
    return signHead(this.#init.signer, this.room, this.#tip.seq, this.#tip.hash)
  }
}

/**
 * Verifies entries of one chain given newest first, starting from the authentic `trusted` point:
 * `entriesDesc[0]` must hash to `trusted.hash` and have `trusted.seq`, each next one must hash to the
 * previous one's `prev`, with consecutive seqs, in `trusted.room` by `trusted.author`.
 *
 * All or nothing: on the first failure it throws a {@link BrokenChainError} whose `index` is the
 * position of the failing entry; `entriesDesc.slice(0, index)` did verify, and a caller that wants to
 * keep them calls again with that slice. `nextExpected` is where the next (older) batch must continue;
 * seq 0 means the chain is complete down to seq 1. `hashes`, when given, are the SHA-256 of each of
 * `entriesDesc` computed beforehand ({@link verifyBackwardBatch}); the checks are the same.
 */
export function verifyBackward(
  crypto: HistoryCrypto,
  trusted: ChainAnchor,
  entriesDesc: readonly Uint8Array[],
  hashes?: readonly Uint8Array[],
): { verified: VerifiedEntry[]; nextExpected: ChainAnchor } {
  if (hashes !== undefined && hashes.length !== entriesDesc.length)
    throw new RangeError('one hash per entry')
  const { room, author } = trusted
  let expected: ChainTip = { seq: trusted.seq, hash: trusted.hash }
  const verified: VerifiedEntry[] = []
  for (const [i, bytes] of entriesDesc.entries()) {
    if (expected.seq < 1) throw new BrokenChainError('seq', i, 'Entries below seq 1')
    const hash = hashes?.[i] ?? crypto.sha256(bytes)
    if (!equalBytes(hash, expected.hash)) throw new BrokenChainError('hash', i)
    let entry: Entry
    try {
      entry = decodeEntry(bytes)
    } catch (err) {
      throw new BrokenChainError('malformed', i, undefined, { cause: err })
    }
    if (entry.room !== room) throw new BrokenChainError('room', i)
    if (!equalBytes(entry.author, author)) throw new BrokenChainError('author', i)
    if (entry.seq !== expected.seq) throw new BrokenChainError('seq', i)
    verified.push({ entry, bytes, hash })
    expected = { seq: entry.seq - 1, hash: entry.prev }
  }
  return { verified, nextExpected: { room, author, ...expected } }
}

/**
 * {@link verifyBackward} with the hashing done first as one batch through
 * {@link HistoryCrypto.sha256Many} where the crypto has it (off the main thread in the browser).
 */
export async function verifyBackwardBatch(
  crypto: HistoryCrypto,
  trusted: ChainAnchor,
  entriesDesc: readonly Uint8Array[],
): Promise<{ verified: VerifiedEntry[]; nextExpected: ChainAnchor }> {
  return verifyBackward(crypto, trusted, entriesDesc, await sha256Batch(crypto, entriesDesc))
}

/**
 * Verifies a push (live gossip or a push request): `head` must carry a valid signature, `entriesAsc`
 * (oldest first) must chain up to it, and down to the receiver's `base` for that author (seq 0 with
 * {@link ZERO_HASH} when it has nothing). Entries the receiver already holds may be included; they are
 * checked against `base` and left out of the result, which is the new entries, oldest first.
 *
 * Throws {@link InvalidSignatureError} for a forged head, {@link BrokenChainError} for entries that do
 * not chain (reason `fork` when the author signed a different entry at `base.seq`), and
 * {@link ChainGapError} when valid entries start above `base.seq + 1` (ask for the missing ones).
 */
export async function verifyForward(
  crypto: HistoryCrypto,
  base: ChainTip,
  entriesAsc: readonly Uint8Array[],
  head: SignedHead,
): Promise<VerifiedEntry[]> {
  if (!(await verifyHead(crypto, head))) throw new InvalidSignatureError('Forged head')
  if (head.seq <= base.seq) {
    if (head.seq === base.seq && !equalBytes(head.hash, base.hash)) {
      throw new BrokenChainError('fork', 0, 'Head forks from our chain')
    }
    return [] // nothing new (an older head cannot be checked against `base` without the entries between)
  }
  const n = entriesAsc.length
  let result: ReturnType<typeof verifyBackward>
  try {
    result = await verifyBackwardBatch(crypto, head, entriesAsc.toReversed())
  } catch (err) {
    // report the position in `entriesAsc`, not in the reversed list
    if (!(err instanceof BrokenChainError)) throw err
    throw new BrokenChainError(err.reason, n - 1 - err.index, err.message, { cause: err.cause })
  }
  const { verified, nextExpected } = result
  if (nextExpected.seq > base.seq) throw new ChainGapError(base.seq, nextExpected.seq + 1)
  // the push may reach below our tip: the first entry after `base` must link to it, and is where we start
  const fresh = verified.filter((v) => v.entry.seq > base.seq)
  const first = fresh.at(-1)
  if (first === undefined || !equalBytes(first.entry.prev, base.hash)) {
    throw new BrokenChainError('fork', n - fresh.length, 'Entries fork from our chain')
  }
  return fresh.reverse()
}
