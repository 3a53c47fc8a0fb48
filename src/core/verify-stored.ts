/**
 * Re-verifies what the store holds for a room, trusting nothing but the authors' keys: each
 * author's newest head must carry a valid signature, and every stored entry of the run below it
 * must hash to its successor's `prev` (so a row edited on disk, a swapped entry or a forged head
 * is found). Entries above a hole were verified against a head we no longer keep; they are
 * counted as `unanchored`, and re-verified once the hole fills.
 */
import { verifyHead } from '../crdt/entry.ts'
import { verifyBackwardBatch } from '../crdt/chain.ts'
import { BrokenChainError } from '../crdt/errors.ts'
import type { HistoryCrypto } from '../crdt/crypto.ts'
import { hex, type AuthorState } from './store.ts'
import type { RoomHistory } from './room-history.ts'

export interface VerifyReport {
  room: string
  authors: number
  verified: number
  unanchored: number
  /** One line per author whose stored chain does not verify. */
  problems: string[]
}

/** Entries read per step: bounds memory for very long chains. */
const STEP = 5_000

export async function verifyStored(crypto: HistoryCrypto, h: RoomHistory): Promise<VerifyReport> {
  const report: VerifyReport = {
    room: h.room,
    authors: 0,
    verified: 0,
    unanchored: 0,
    problems: [],
  }
  for (const a of await h.authors()) {
    report.authors += 1
    const problem = await verifyAuthor(crypto, h, a, report)
    if (problem !== undefined) report.problems.push(`${hex(a.author).slice(0, 16)}: ${problem}`)
  }
  return report
}

async function verifyAuthor(
  crypto: HistoryCrypto,
  h: RoomHistory,
  a: AuthorState,
  report: VerifyReport,
): Promise<string | undefined> {
  const head = { room: h.room, ...a.head }
  if (!(await verifyHead(crypto, head))) return 'the stored head signature does not verify'
  const lo = await h.topSegmentStart(a)
  if (lo > 1) report.unanchored += a.contig // below a hole: verified when it arrived
  let anchor = { room: h.room, author: a.author, seq: head.seq, hash: head.hash }
  for (let to = a.head.seq; to >= lo; to -= STEP) {
    const from = Math.max(lo, to - STEP + 1)
    const rows = await h.entriesOf(a.author, from, to)
    if (rows.length !== to - from + 1) return `entries ${from}..${to} are missing`
    try {
      const { nextExpected } = await verifyBackwardBatch(
        crypto,
        anchor,
        rows.reverse().map((r) => r.bytes),
      )
      anchor = nextExpected
      report.verified += rows.length
    } catch (err) {
      const index = err instanceof BrokenChainError ? err.index : 0
      report.verified += index
      return `the chain breaks at seq ${anchor.seq - index}: ${(err as Error).message}`
    }
  }
  return undefined
}
