/**
 * What a room's gossip brings in. Each push is checked against what the room holds, one at a time
 * per room (a push checked while its predecessor is still being verified would look like a gap);
 * one that connects is verified and stored, and the pushes held above it are taken too; one above
 * a hole is held a moment for the entries below (held-pushes.ts), and the room pulled from the
 * forwarder if they do not come. The ingest limiter cuts a flood before any of this, and a forgery
 * penalises its (peer, author) pair.
 */
import { createLogger } from '../net/logger.ts'
import type { PeerIdString } from '../net/index.ts'
import { verifyForward, type VerifiedEntry } from '../crdt/chain.ts'
import { ChainGapError } from '../crdt/errors.ts'
import type { PushFrame } from '../crdt/wire.ts'
import type { HistoryCrypto } from '../crdt/crypto.ts'
import { hex } from './store.ts'
import type { RoomHistory } from './room-history.ts'
import type { PullRequest } from './pull-queue.ts'
import { HeldPushes } from './held-pushes.ts'
import { isForgery, pushOf } from './sync-frames.ts'
import { toVerified } from './heads-book.ts'
import { entryKey, type StageTrace } from './trace.ts'
import type { IngestLimiter } from './ingest-limit.ts'

const log = createLogger('parley:core:sync')

/** Gossiped pushes waiting per room before newer ones are dropped (and repaired by anti-entropy). */
const MAX_QUEUED_PUSHES = 4_096

export interface GossipIntakeInit {
  crypto: HistoryCrypto
  rooms: { get(room: string): RoomHistory | undefined }
  /** Schedules a pull of `room` from `peer` (RoomSync.schedulePull). */
  pull: (peer: PeerIdString, room: string, request: PullRequest) => void
  trace?: StageTrace | undefined
  limiter?: IngestLimiter | undefined
}

export class GossipIntake {
  readonly #i: GossipIntakeInit
  readonly #queues = new Map<string, { tail: Promise<void>; length: number }>()
  /** Gossiped pushes above a hole, waiting for the entries below. */
  readonly #parked = new HeldPushes(({ push, from }) => {
    const h = this.#i.rooms.get(push.room)
    if (h !== undefined) void this.#inTurn(push.room, () => this.#takePush(h, push, from, true))
  })

  constructor(init: GossipIntakeInit) {
    this.#i = init
  }

  /** After a pull stored entries in `h`: takes the held pushes they connect (in the room's turn). */
  pulled(h: RoomHistory): void {
    void this.#inTurn(h.room, () => this.#takeHeld(h))
  }

  /** Drops the held pushes (shutdown). */
  stop(): void {
    this.#parked.clear()
  }

  /**
   * Whether a gossiped frame from `from` is to be taken: a well-formed push within the budget of
   * its (peer, author) pair (src/core/ingest-limit.ts; spends a token). The net asks this before
   * it delivers or forwards the frame (`SubscribeOptions.accept`): a flood is cut at the first
   * peer it reaches, before the signature checks and before it is relayed to every peer behind.
   * Never throws.
   */
  accept(data: Uint8Array, from: PeerIdString): boolean {
    const frame = pushOf(data, from)
    if (frame === undefined) return false
    this.#i.trace?.('gossip', entryKey(frame.room, frame.head.author, frame.head.seq))
    return this.#i.limiter?.take(from, hex(frame.head.author), 'push') !== false
  }

  /** Takes a gossiped frame from `from` that {@link accept} took. Never throws. */
  async take(data: Uint8Array, from: PeerIdString): Promise<void> {
    const frame = pushOf(data, from)
    if (frame === undefined) return
    const h = this.#i.rooms.get(frame.room)
    if (h === undefined) return
    // One push at a time per room: a push checked while its predecessor is still being verified
    // would look like a gap and cost a pull. The queue is bounded; anti-entropy repairs drops.
    if ((this.#queues.get(frame.room)?.length ?? 0) >= MAX_QUEUED_PUSHES) {
      log('push queue of %s full: dropping one (anti-entropy repairs it)', frame.room)
      return
    }
    await this.#inTurn(frame.room, () => this.#takePush(h, frame, from, false))
  }

  /** Runs `job` after the room's gossiped pushes queued before it. Never rejects. */
  #inTurn(room: string, job: () => Promise<void>): Promise<void> {
    const queue = this.#queues.get(room) ?? { tail: Promise.resolve(), length: 0 }
    queue.length += 1
    this.#queues.set(room, queue)
    queue.tail = queue.tail.then(job).finally(() => {
      queue.length -= 1
      if (queue.length === 0) this.#queues.delete(room)
    })
    return queue.tail
  }

  /**
   * Takes a gossiped push (in its room's turn). One above a hole is held for the entries below
   * (held-pushes.ts), or, `expired` (held already) or with no room to hold it, its room is pulled
   * from its forwarder. Once it is taken, the held pushes it connects are taken too.
   */
  async #takePush(
    h: RoomHistory,
    push: PushFrame,
    from: PeerIdString,
    expired: boolean,
  ): Promise<void> {
    const key = hex(push.head.author)
    try {
      // a forgery of this pair was found while this push waited: no need to check it
      if (this.#i.limiter?.penalized(from, key) === true) return
      const result = await this.acceptPush(h, push)
      if (result === 'ok') return await this.#takeHeld(h)
      // the entries below this push were gossiped too: everyone else has them or pulls them
      if (expired || !this.#parked.hold(push, from)) {
        const { author, seq } = push.head
        const still = (): boolean => h.contigOf(author) < seq
        this.#i.pull(from, push.room, { announce: false, still })
      }
    } catch (err) {
      if (isForgery(err)) this.#i.limiter?.penalize(from, key)
      log.error('rejected push in %s from %s: %e', push.room, from, err)
    }
  }

  /** Takes the held pushes of `h`'s room that what it holds now connects to. */
  async #takeHeld(h: RoomHistory): Promise<void> {
    // each push taken takes in turn the held pushes it connects (#takePush)
    for (const { push, from } of this.#parked.take(h.room, (a) => h.contigOf(a)))
      await this.#takePush(h, push, from, false)
  }

  /**
   * Verifies a push against what we hold. 'gap' when it does not connect to our contiguous
   * prefix (the caller holds it or pulls); throws when it is forged or broken.
   */
  async acceptPush(h: RoomHistory, f: PushFrame): Promise<'ok' | 'gap'> {
    const contig = h.contigOf(f.head.author)
    if (f.head.seq <= contig) return 'ok'
    const base = await this.#hashAt(h, f.head.author, contig)
    let verified: VerifiedEntry[]
    try {
      verified = await verifyForward(this.#i.crypto, base, f.entries, f.head)
    } catch (err) {
      if (err instanceof ChainGapError) return 'gap'
      throw err
    }
    this.#i.trace?.('verified', entryKey(f.room, f.head.author, f.head.seq))
    await h.ingest(verified.map(toVerified), f.head)
    return 'ok'
  }

  async #hashAt(
    h: RoomHistory,
    author: Uint8Array,
    seq: number,
  ): Promise<{ seq: number; hash: Uint8Array }> {
    if (seq === 0) return { seq, hash: new Uint8Array(32) }
    const state = h.author(author)
    if (state !== undefined && state.head.seq === seq) return { seq, hash: state.head.hash }
    const [e] = await h.entriesOf(author, seq, seq)
    if (e === undefined) throw new Error(`entry ${seq} missing below the contiguous prefix`)
    return { seq, hash: e.hash }
  }
}
