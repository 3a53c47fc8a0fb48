/**
 * The frames room sync builds and reads (src/core/sync.ts): the push of local entries, the push in
 * a gossiped frame, what counts as a forgery, and the digest anti-entropy compares.
 */
import { createLogger } from '../net/logger.ts'
import type { PeerIdString } from '../net/index.ts'
import { compareBytes } from '../crdt/entry.ts'
import { BrokenChainError, InvalidSignatureError, MalformedEntryError } from '../crdt/errors.ts'
import { decodeFrame, type Frame, type PushFrame } from '../crdt/wire.ts'
import type { HistoryCrypto } from '../crdt/crypto.ts'
import type { AuthorState, StoredHead } from './store.ts'
import type { Verified } from './room-history.ts'
import { ENTRIES_FRAME_BYTES } from './sync-serve.ts'

const log = createLogger('parley:core:sync')

/** A push its sender cannot have got from an honest author (not our store failing). */
export const isForgery = (err: unknown): boolean =>
  err instanceof InvalidSignatureError ||
  err instanceof BrokenChainError ||
  err instanceof MalformedEntryError

/** A push frame with the newest entries that fit one frame. */
export function pushFrame(room: string, head: StoredHead, entries: readonly Verified[]): PushFrame {
  const picked: Uint8Array[] = []
  let size = 0
  for (let i = entries.length - 1; i >= 0; i--) {
    const b = entries[i]!.stored.bytes
    if (size + b.length > ENTRIES_FRAME_BYTES && picked.length > 0) break
    picked.push(b)
    size += b.length
  }
  return { type: 'push', room, head: { room, ...head }, entries: picked.reverse() }
}

/**
 * What anti-entropy compares: SHA-256 over each author's key, contiguous seq and head (seq, hash),
 * by author key — the same bytes on every peer that holds the same (asked on every room
 * announcement received, so written straight into one buffer).
 */
export function roomDigest(
  authors: readonly AuthorState[],
  crypto: Pick<HistoryCrypto, 'sha256'>,
): Uint8Array {
  const sorted = [...authors].sort((x, y) => compareBytes(x.author, y.author))
  let size = 0
  for (const a of sorted) size += a.author.length + 8 + a.head.hash.length
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let at = 0
  for (const a of sorted) {
    out.set(a.author, at)
    at += a.author.length
    view.setUint32(at, a.contig)
    view.setUint32(at + 4, a.head.seq)
    at += 8
    out.set(a.head.hash, at)
    at += a.head.hash.length
  }
  return crypto.sha256(out)
}

/** The push in a gossiped frame, or undefined (logged) if it is malformed or not a push. */
export function pushOf(
  data: Uint8Array,
  from: PeerIdString,
): Extract<Frame, { type: 'push' }> | undefined {
  let frame: Frame
  try {
    frame = decodeFrame(data)
  } catch (err) {
    log('dropping malformed gossip from %s: %e', from, err)
    return undefined
  }
  if (frame.type === 'push') return frame
  log('dropping unexpected %s gossip from %s', frame.type, from)
  return undefined
}
