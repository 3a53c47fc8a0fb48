/**
 * The requester's side of one pull: trusts each author's signed head from the `heads` frames,
 * then verifies every entry backwards from it before it is stored. Entries that arrive before a
 * newer entry of their chain (the meta document is sent first, but its entries sit anywhere in a
 * chain) wait, bounded, until they can be verified.
 */
import { createLogger } from '../net/logger.ts'
import type { PeerIdString } from '../net/index.ts'
import { entryAuthorOf, entrySeqOf, verifyHead, type SignedHead } from '../crdt/entry.ts'
import { verifyBackwardBatch, type ChainAnchor } from '../crdt/chain.ts'
import type { HistoryCrypto } from '../crdt/crypto.ts'
import { hex } from './store.ts'
import type { RoomHistory } from './room-history.ts'
import { toVerified } from './heads-book.ts'

const log = createLogger('parley:core:pull')

/** Most bytes of early entries one pull buffers before it gives up on the peer. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024

export class PullTooLooseError extends Error {
  static override readonly name = 'PullTooLooseError'
  constructor() {
    super('peer sent too many entries that cannot be verified yet')
    this.name = 'PullTooLooseError'
  }
}

export class PullSession {
  readonly #crypto: HistoryCrypto
  readonly #h: RoomHistory
  readonly #peer: PeerIdString
  /** Per author: the next hash we trust, and the signed head it descends from. */
  readonly #expected = new Map<string, { anchor: ChainAnchor; head: SignedHead }>()
  readonly #pending = new Map<string, Map<number, Uint8Array>>()
  #pendingBytes = 0
  /** The peer's heads as it told them: author hex → seq. */
  readonly theirs = new Map<string, number>()
  ingested = 0

  readonly #batch: number

  /** `batch`: most entries stored in one write (a write's entries are stored atomically). */
  constructor(crypto: HistoryCrypto, h: RoomHistory, peer: PeerIdString, batch = Infinity) {
    this.#crypto = crypto
    this.#h = h
    this.#peer = peer
    this.#batch = Math.max(1, batch)
  }

  async onHeads(heads: readonly SignedHead[]): Promise<void> {
    for (const head of heads) {
      const key = hex(head.author)
      this.theirs.set(key, head.seq)
      if (head.seq <= this.#h.contigOf(head.author)) continue
      if (await verifyHead(this.#crypto, head)) this.#expected.set(key, { anchor: head, head })
      else
        log.error(
          'forged head from %s for %s in %s: ignored',
          this.#peer,
          key.slice(0, 8),
          this.#h.room,
        )
    }
  }

  async onEntries(entries: readonly Uint8Array[]): Promise<void> {
    const touched = new Set<string>()
    for (const bytes of entries) {
      const key = hex(entryAuthorOf(bytes))
      if (!this.#expected.has(key)) continue
      let seq: number
      try {
        // only where it goes in its chain: it is decoded once its hash is checked (#verify)
        seq = entrySeqOf(bytes)
      } catch (err) {
        log.error('malformed entry from %s in %s: %e', this.#peer, this.#h.room, err)
        continue
      }
      let m = this.#pending.get(key)
      if (m === undefined) this.#pending.set(key, (m = new Map()))
      if (!m.has(seq)) {
        this.#pendingBytes += bytes.length
        if (this.#pendingBytes > MAX_PENDING_BYTES) throw new PullTooLooseError()
        m.set(seq, bytes)
      }
      touched.add(key)
    }
    for (const key of touched) await this.#verify(key)
  }

  async #verify(key: string): Promise<void> {
    const trust = this.#expected.get(key)
    const m = this.#pending.get(key)
    if (trust === undefined || m === undefined) return
    const chain: Uint8Array[] = []
    for (let seq = trust.anchor.seq; m.has(seq); seq--) {
      const bytes = m.get(seq)!
      m.delete(seq)
      this.#pendingBytes -= bytes.length
      chain.push(bytes)
    }
    if (chain.length === 0) return
    try {
      const { verified, nextExpected } = await verifyBackwardBatch(
        this.#crypto,
        trust.anchor,
        chain,
      )
      this.#expected.set(key, { anchor: nextExpected, head: trust.head })
      // Newest part first, like the pull itself: the newest messages show before older ones
      // are stored (a store keeps entries above a hole; the prefix grows when it fills).
      const asc = verified.reverse().map(toVerified)
      for (let end = asc.length; end > 0; end -= this.#batch) {
        const part = asc.slice(Math.max(0, end - this.#batch), end)
        await this.#h.ingest(part, trust.head)
        this.ingested += part.length
      }
    } catch (err) {
      log.error(
        'broken chain from %s for %s in %s: %e',
        this.#peer,
        key.slice(0, 8),
        this.#h.room,
        err,
      )
      this.#expected.delete(key)
      for (const b of m.values()) this.#pendingBytes -= b.length
      this.#pending.delete(key)
    }
  }
}
