/**
 * The IPC protocol between a bench driver and its peer processes (`bench/peer.ts`): one request
 * per command, answered by one response with the same id. Timestamps are {@link now} readings
 * (ms since the epoch, sub-ms resolution), comparable across the processes of one machine.
 */
import type { ByteCounts } from './counting-net.ts'
import type { Timing } from './instrument.ts'
import type { HeldCheck, Receipts } from './load-check.ts'

export interface MemSample {
  /** Resident set size after a full GC (`--expose-gc`), bytes. */
  rss: number
  heapUsed: number
  /** What V8 holds for its heap, used or not (after a full GC), bytes. */
  heapTotal: number
  external: number
  arrayBuffers: number
}

export interface StartArgs {
  dir: string
  /** `messenger`: a whole Parley peer; `net`: a bare PeerNet (net-only latency). */
  kind: 'messenger' | 'net'
  /** Rooms to join once started. */
  rooms?: string[]
  /** An injected author clock: reading k returns `startMs + k × stepMs` (spreads history over days). */
  clock?: { startMs: number; stepMs: number }
  /** Timestamp every pubsub message on these rooms' topics (or raw topics for `net`). */
  recordTopics?: string[]
  /** Peers dialled at start and redialled with backoff when lost (as mDNS would rediscover them). */
  bootstrap?: string[]
}

export interface StartResult {
  peerId: string
  addr: string
  /** Hex of the device's author key (messenger only). */
  author: string
  /** In-process phases of the start, ms. */
  phases: Record<string, number>
}

export interface SendRecord {
  seq: number
  /** Before `post()` (or `publish()`) was called. */
  tCall: number
  /** When `post()` resolved (stored on this peer). */
  tStored: number
}

export interface WatchReport {
  /** seq → when a `messages(room)` read first showed it (messenger) or it was delivered (net). */
  shown: [number, number][]
  /** seq → when its push frame was published here / delivered here by gossip. */
  published: [number, number][]
  delivered: [number, number][]
  /** Duration of every `messages(room)` read the watcher made, ms. */
  reads: number[]
  /** Sync requests this peer sent during the run (pulls after a gap, digests, pushes). */
  requestsOut: number
  /** The same by frame type, over the peer's whole life. */
  requestTypes: Record<string, number>
  /** Event-loop delay while watching (`monitorEventLoopDelay`, 10 ms resolution), ms. */
  loopDelay: { p50: number; p99: number; max: number }
}

export interface CatchupResult {
  /** From just before dialling, ms. */
  connected: number
  firstShown: number
  newest50: number
  all: number
  /** After `all`: loading every older period into memory (`loadOlder` until false). */
  loadAll: number
  shownAfterLoadAll: number
  bytes: ByteCounts
  /** CPU time of the joiner from the dial to `all` (and of the author serving it), ms. */
  cpuMs: number
  /** CPU time of the joiner from the dial to the newest 50 shown, ms. */
  cpuNewestMs: number
  authorCpuMs?: number
  /** The author's store, crypto and signer time while serving this catch-up (and load-all). */
  authorTimings?: [string, Timing][]
  /** Store, crypto and signer time from the dial to `all`. */
  timings: [string, Timing][]
  memAfterCatchup: MemSample
  memAfterLoadAll: MemSample
  /**
   * The dial and `all` on the monotonic clock V8 CPU profiles use (µs), the same in every process
   * of this machine: `bench/profile-summary.ts --window FROM-TO` keeps only the samples between.
   */
  profileWindow: { fromUs: number; toUs: number }
}

export interface ColdLoadResult {
  /** Process uptime when the bench code started (Node + tsx + module loading), ms. */
  uptimeAtStart: number
  phases: Record<string, number>
  /** Store opened → `messages(room)` holds the newest 50. */
  newestPage: number
  newestPageCount: number
  /** Then `loadOlder` until false, and one `messages(room)` read of everything. */
  all: number
  allCount: number
  memAfterNewest: MemSample
  memAfterAll: MemSample
  /** Store, crypto and signer time: up to the newest page, and loading the rest. */
  timingsNewest: [string, Timing][]
  timingsAll: [string, Timing][]
}

/** A message a load writer posted (bench/load.ts). */
export interface LoadSent {
  room: string
  seq: number
  id: string
  /** Before `post()` was called: the stamp in its text. */
  tCall: number
  /** When `post()` resolved (stored on the writer). */
  tStored: number
}

export interface Commands {
  start: { args: StartArgs; result: StartResult }
  dial: { args: { addr: string }; result: { ms: number } }
  /** Waits until `n` peers are subscribed to the room's topic (raw topic for `net`). */
  waitTopic: { args: { topic: string; n: number; timeoutMs: number }; result: { ms: number } }
  /** Posts `count` messages of `bytes` bytes at `rate` per second (paced, not awaited in turn). */
  send: {
    args: { room: string; count: number; rate: number; bytes: number }
    result: { records: SendRecord[] }
  }
  /** Starts noting when each message becomes visible in `messages(room)` (or arrives, for `net`). */
  watch: { args: { room: string }; result: Record<string, never> }
  report: { args: { room: string }; result: WatchReport }
  /** Posts `count` messages keeping `inflight` posts pending; resolves when all are stored. */
  flood: {
    args: { room: string; count: number; inflight: number; bytes: number }
    result: { tStart: number; tStored: number; seq: number }
  }
  /**
   * Resolves when this peer holds `author`'s chain up to `seq` (`tStored`: verified and stored)
   * and `messages(room)` shows at least `shown` messages (`tShown`, NaN if not within the time).
   */
  track: {
    args: { room: string; author: string; seq: number; shown: number; timeoutMs: number }
    result: { tStored: number; tShown: number; shown: number; bytes: ByteCounts }
  }
  /** The newest `n` message ids of `room` in display order, and the author's head seq. */
  newest: { args: { room: string; n: number }; result: { ids: string[]; seq: number } }
  catchup: {
    args: {
      room: string
      addr: string
      author: string
      seq: number
      newest: string[]
      timeoutMs: number
    }
    result: CatchupResult
  }
  /** Starts a messenger on an existing data dir and times the first page and the whole history. */
  coldLoad: { args: { dir: string; room: string }; result: ColdLoadResult }
  /**
   * Posts `rate` messages a second for `durationMs` from `startAt` (driver clock), each in one of
   * `rooms` at random (seeded), each text stamped with its send time; `lag`: how late each was.
   */
  loadSend: {
    args: {
      name: string
      rooms: string[]
      rate: number
      startAt: number
      durationMs: number
      bytes: number
      seed: number
    }
    /** `skipped`: sends not started, the writer over `LOAD_SEND_GRACE_MS` behind at its schedule's end. */
    result: { sent: LoadSent[]; errors: string[]; lag: number[]; skipped: number }
  }
  /** Starts noting when each author's messages in `rooms` become held here. */
  loadWatch: { args: { rooms: string[] }; result: Record<string, never> }
  /** Waits (bounded) until this peer holds each author's chain up to `seq`; `missing`: entries not. */
  loadWait: {
    args: { expect: { room: string; author: string; seq: number }[]; timeoutMs: number }
    result: { ms: number; missing: number }
  }
  /** Stops the watchers; checks every room's whole history against the ids reported as sent. */
  loadCheck: {
    args: { expect: { room: string; ids: string[] }[] }
    result: {
      checks: (HeldCheck & { room: string })[]
      receipts: Receipts[]
      /** Times a connected peer went away while watching. */
      disconnects: number
    }
  }
  mem: { args: Record<string, never>; result: MemSample }
  /** Time spent in the store, crypto and signer since the last call, per method. */
  timings: { args: Record<string, never>; result: [string, Timing][] }
  /** CPU time this process has used so far (user + system), ms. */
  cpu: { args: Record<string, never>; result: { ms: number } }
  stop: { args: Record<string, never>; result: Record<string, never> }
}

export type Cmd = keyof Commands

export interface Request<C extends Cmd = Cmd> {
  id: number
  cmd: C
  args: Commands[C]['args']
  /** Which of the process's peers (bench/lib/proc.ts `PeerSlot`); 0 when it runs one. */
  slot?: number
}

export type Response =
  { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string }
