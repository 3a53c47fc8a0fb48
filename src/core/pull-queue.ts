/**
 * When each room is pulled from whom. One pull of a room holds the room's turn at a time; every
 * peer asked for meanwhile waits and is pulled after it, in turn (it may have learnt more since,
 * and pulling a room from three peers at once fetches the same entries three times).
 *
 * A pull that waits for its next frame gives up the turn, though it keeps running (it may yet
 * answer), when
 * - its peer's links have received nothing at all for `stallMs` either: the link may be dead
 *   without either side knowing yet (a cut, a peer killed, a connection stuck in TCP's
 *   retransmission backoff after a heal), and libp2p fails such a stream only after seconds.
 *   Behind it, an announcement from a neighbour that had pulled the entries itself waited that
 *   long (docs/reliability.md, "Chaos checker": two schedules of 100 converged in 5.2 s so);
 * - or it has waited `patienceMs`, its peer alive or not: a peer that takes pulls and never
 *   answers them (broken, or hostile) holds no room back for longer.
 * A slow peer that is heard from (gossip, pings) keeps the turn until then: on a loaded machine
 * every answer is slow, and pulling a room from several peers at once only adds to the load.
 */
import type { PeerIdString } from '../net/index.ts'

/** How long a pull whose peer is silent may wait for a frame before the next peer's pull starts. */
export const PULL_STALL_MS = 1_000

/** How long any pull may wait for a frame before the next peer's pull of its room starts. */
export const PULL_PATIENCE_MS = 5_000

export interface PullQueueTimes {
  stallMs: number
  patienceMs: number
}

const DEFAULT_TIMES: PullQueueTimes = { stallMs: PULL_STALL_MS, patienceMs: PULL_PATIENCE_MS }

/**
 * Runs one pull: calls `waiting(false)` when a frame arrives and `waiting(true)` once it is taken
 * and the next is awaited (only time spent waiting for the peer counts towards a stall).
 * `announce`: whether any request for it since it was queued asked for what it brings to be
 * announced (src/core/sync.ts, schedulePull).
 */
export type RunPull = (
  peer: PeerIdString,
  room: string,
  waiting: (waiting: boolean) => void,
  announce: boolean,
) => Promise<void>

/** What a request for a pull asks beyond it. */
export interface PullRequest {
  /** What the pull brings is announced (src/core/sync.ts, schedulePull). @default true */
  announce?: boolean
  /**
   * Asked when the pull's turn comes: whether it is still needed (what it was for may have come by
   * gossip or another pull while it waited). @default always needed
   */
  still?: () => boolean
}

/** A peer waiting for its turn: the requests for it since it was queued, merged. */
interface Queued {
  announce: boolean
  /** Undefined: some request needs the pull whatever happens meanwhile. */
  still: (() => boolean) | undefined
}

/** Whether a merged request still needs its pull: if either does (undefined: always). */
function eitherStill(
  still: (() => boolean) | undefined,
  was: Queued | undefined,
): (() => boolean) | undefined {
  if (was === undefined) return still
  const other = was.still
  if (still === undefined || other === undefined) return undefined
  return () => still() || other()
}

interface Running {
  readonly peer: PeerIdString
  readonly done: Promise<void>
}

interface RoomPulls {
  /** Pulls started and not finished, stalled or not. */
  readonly running: Set<Running>
  /** The pull holding the room's turn: running and not stalled. */
  holder: Running | undefined
  /** Peers waiting for the turn, in the order asked. */
  readonly queued: Map<PeerIdString, Queued>
}

export class PullQueue {
  readonly #run: RunPull
  readonly #quietFor: (peer: PeerIdString) => number | undefined
  readonly #times: PullQueueTimes
  readonly #rooms = new Map<string, RoomPulls>()

  /**
   * `run` never rejects (its failures are its own to log). `quietFor`: how long since the peer's
   * links last received anything (PeerNet.quietFor; undefined counts as silent).
   */
  constructor(
    run: RunPull,
    quietFor: (peer: PeerIdString) => number | undefined,
    times: PullQueueTimes = DEFAULT_TIMES,
  ) {
    this.#run = run
    this.#quietFor = quietFor
    this.#times = times
  }

  /**
   * Pulls `room` from `peer` now, or once the pulls ahead of it finish or stall; a peer already
   * waiting keeps its place, and its pull is announced if either request asked so, and made when
   * its turn comes if either still needs it. A pull no request still needs is skipped.
   */
  schedule(peer: PeerIdString, room: string, request: PullRequest = {}): void {
    let pulls = this.#rooms.get(room)
    if (pulls === undefined) {
      pulls = { running: new Set(), holder: undefined, queued: new Map() }
      this.#rooms.set(room, pulls)
    }
    const was = pulls.queued.get(peer)
    const announce = request.announce !== false || (was?.announce ?? false)
    pulls.queued.set(peer, { announce, still: eitherStill(request.still, was) })
    this.#next(room, pulls)
  }

  /** Waits until no pull runs or waits (tests and shutdown). */
  async settled(): Promise<void> {
    for (;;) {
      const running = [...this.#rooms.values()].flatMap((r) => [...r.running])
      if (running.length === 0) return
      await Promise.all(running.map((r) => r.done))
    }
  }

  /** Starts the first waiting peer's pull if the turn is free (a stalled peer is not asked twice). */
  #next(room: string, pulls: RoomPulls): void {
    if (pulls.holder !== undefined) return
    const busy = new Set([...pulls.running].map((r) => r.peer))
    let peer: PeerIdString | undefined
    let announce = true
    for (const [p, q] of pulls.queued) {
      if (busy.has(p)) continue
      pulls.queued.delete(p)
      if (q.still !== undefined && !q.still()) continue
      ;[peer, announce] = [p, q.announce]
      break
    }
    if (peer === undefined) {
      if (pulls.running.size === 0 && pulls.queued.size === 0) this.#rooms.delete(room)
      return
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    const release = (): void => {
      clearTimeout(timer)
      if (pulls.holder !== running) return
      pulls.holder = undefined
      this.#next(room, pulls)
    }
    let stalled = false
    let since = 0
    const arm = (ms: number): void => {
      timer = setTimeout(check, ms)
      timer.unref?.()
    }
    // Waited `stallMs` (or more) for a frame: stalled if the peer is silent too, or waited too long.
    const check = (): void => {
      const waited = Date.now() - since
      const quiet = this.#quietFor(peer) ?? Infinity
      const { stallMs, patienceMs } = this.#times
      if (quiet >= stallMs || waited >= patienceMs) {
        stalled = true
        release()
      } else arm(Math.min(stallMs - quiet, patienceMs - waited))
    }
    const waiting = (yes: boolean): void => {
      if (stalled) return // it no longer holds the turn
      clearTimeout(timer)
      timer = undefined
      if (!yes) return
      since = Date.now()
      arm(this.#times.stallMs)
    }
    waiting(true)
    const running: Running = {
      peer,
      done: this.#run(peer, room, waiting, announce).finally(() => {
        pulls.running.delete(running)
        release()
        // a finished stalled pull may free a peer that waited for it, or leave the room idle
        this.#next(room, pulls)
      }),
    }
    pulls.running.add(running)
    pulls.holder = running
  }
}
