/**
 * Splitting a run of entries into sync frames that each stay under the frame cap, in order.
 */
import { MAX_ENTRIES_BYTES } from './wire.ts'

/**
 * Splits entries given one at a time, in order, into runs whose encoded size (length prefixes
 * included) stays within a budget: `firstBytes` for the first run, then twice the previous
 * run's budget, up to `maxBytes`. A small first run reaches the requester (and is verified,
 * stored and shown) before the rest is sent; big later ones keep the per-frame costs (frames,
 * muxer window updates, store writes) few. An entry over the current budget gets a run of its
 * own; one over `limitBytes` (what one frame can carry) throws a `RangeError`. The first run also
 * ends at the first {@link boundary} where it holds `firstEntries` entries.
 */
export class EntryChunker {
  readonly #max: number
  readonly #limit: number
  readonly #firstEntries: number
  #budget: number
  #first = true
  #run: Uint8Array[] = []
  #size = 0

  constructor(
    maxBytes: number = MAX_ENTRIES_BYTES,
    firstBytes: number = maxBytes,
    limitBytes: number = maxBytes,
    firstEntries = Infinity,
  ) {
    this.#max = maxBytes
    this.#limit = Math.max(limitBytes, maxBytes)
    this.#firstEntries = firstEntries
    this.#budget = Math.min(firstBytes, maxBytes)
  }

  /**
   * A boundary between groups of entries (the days of a pull): returns the first run, closed, if
   * it holds `firstEntries` entries; otherwise undefined.
   */
  boundary(): Uint8Array[] | undefined {
    return this.#first && this.#run.length >= this.#firstEntries ? this.end() : undefined
  }

  /** Adds `entry`; returns the run it closed (the entry did not fit it), if any. */
  push(entry: Uint8Array): Uint8Array[] | undefined {
    const cost = varUintLength(entry.length) + entry.length
    if (cost > this.#limit)
      throw new RangeError(`EntryChunker: an entry of ${entry.length} bytes exceeds ${this.#limit}`)
    const closed = this.#size + cost > this.#budget ? this.end() : undefined
    this.#run.push(entry)
    this.#size += cost
    return closed
  }

  /** Closes the current run: returns it (undefined if empty); the next one gets the next budget. */
  end(): Uint8Array[] | undefined {
    if (this.#run.length === 0) return undefined
    const run = this.#run
    this.#run = []
    this.#size = 0
    this.#budget = Math.min(this.#budget * 2, this.#max)
    this.#first = false
    return run
  }
}

/**
 * Splits `entries`, in order, into runs whose encoded size (length prefixes included) is at most
 * `maxBytes`, one frame each. Throws a `RangeError` if one entry alone exceeds `maxBytes`.
 */
export function chunkEntries(
  entries: readonly Uint8Array[],
  maxBytes: number = MAX_ENTRIES_BYTES,
): Uint8Array[][] {
  const chunker = new EntryChunker(maxBytes)
  const chunks: Uint8Array[][] = []
  for (const e of entries) {
    const closed = chunker.push(e)
    if (closed !== undefined) chunks.push(closed)
  }
  const last = chunker.end()
  if (last !== undefined) chunks.push(last)
  return chunks
}

function varUintLength(n: number): number {
  let len = 1
  for (let v = n; v > 127; v = Math.floor(v / 128)) len++
  return len
}
