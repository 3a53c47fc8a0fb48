/**
 * The files an always-on peer still has to keep (issue #5, point 4): a failed keep is tried again
 * instead of never (the uploader went offline right after posting, a link dropped, the disk was
 * full). Each pending file waits for its next attempt in one map: `retryMs` doubling up to
 * `maxRetryMs` after each failure, or at once when a peer connects (it may hold the file) or
 * someone offers the file again. One timer for the whole map, `concurrency` attempts at a time.
 *
 * Stops trying a file once it is held whole, and when the store refuses it over the operator's
 * quota (`FileQuotaError`: a decision, not a failure); it is tried again only when something keeps
 * it anew — a peer offering it, or a restart (which scans the retained rooms again, under the
 * quota the operator gave then). A full disk (`FileStoreFullError`) is retried with backoff only:
 * a peer connecting does not make room.
 */
import { createLogger } from '../../net/logger.ts'
import type { PeerIdString, Unsubscribe } from '../../net/index.ts'

const log = createLogger('parley:core:files:keep')

export interface KeepQueueInit {
  /** One attempt at keeping `id`: resolves once it is held whole. */
  attempt: (id: string) => Promise<void>
  /** Called with the connected peers whenever they change (a new one makes keeps due). */
  onPeers: (cb: (peers: readonly PeerIdString[]) => void) => Unsubscribe
  /** Wait after the first failure, doubled after each next one. @default 5000 */
  retryMs?: number
  /** Longest wait between attempts. @default 300000 (5 min) */
  maxRetryMs?: number
  /** Attempts running at once. @default 2 */
  concurrency?: number
}

/** Tuning of the queue (tests). */
export type KeepTuning = Pick<KeepQueueInit, 'retryMs' | 'maxRetryMs' | 'concurrency'>

/** A file still to keep. */
export interface PendingKeep {
  id: string
  /** Attempts that failed. */
  failures: number
  /** When the next attempt may start (ms since the epoch); 0 while one runs. */
  dueAt: number
  /** The name of the last failure's error. */
  error?: string
}

export interface KeepStatus {
  pending: PendingKeep[]
  /** Attempts started since this peer started. */
  attempts: number
  /** Files found held whole (fetched, or already there). */
  kept: number
  /** Files refused over the quota (not tried again until kept anew). */
  refused: number
}

interface Entry {
  failures: number
  dueAt: number
  running: boolean
  /** Kept anew (a peer connected, an offer) while an attempt ran: a failure retries at once. */
  poked: boolean
  error: string | undefined
}

export class KeepQueue {
  readonly #init: KeepQueueInit
  readonly #retryMs: number
  readonly #maxRetryMs: number
  readonly #concurrency: number
  readonly #pending = new Map<string, Entry>()
  #running = 0
  #attempts = 0
  #kept = 0
  #refused = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  #timerAt = Number.POSITIVE_INFINITY
  #off: Unsubscribe | undefined
  #stopped = false

  constructor(init: KeepQueueInit) {
    this.#init = init
    this.#retryMs = init.retryMs ?? 5_000
    this.#maxRetryMs = init.maxRetryMs ?? 300_000
    this.#concurrency = init.concurrency ?? 2
  }

  /** Follows peers: a peer that connects may hold what is pending. */
  start(): void {
    this.#stopped = false
    if (this.#off !== undefined) return
    let before = new Set<PeerIdString>()
    this.#off = this.#init.onPeers((peers) => {
      const now = new Set(peers)
      const joined = peers.some((p) => !before.has(p))
      before = now
      if (joined) this.#due((e) => e.error !== 'FileStoreFullError')
    })
  }

  /** Forgets every pending keep; attempts still running end without a retry. */
  stop(): void {
    this.#stopped = true
    this.#off?.()
    this.#off = undefined
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    this.#pending.clear()
  }

  /** Keeps `id`: tried now (or as soon as an attempt slot is free), and again until held. */
  keep(id: string): void {
    if (this.#stopped) return
    const e = this.#pending.get(id)
    if (e === undefined) {
      this.#pending.set(id, {
        failures: 0,
        dueAt: 0,
        running: false,
        poked: false,
        error: undefined,
      })
    } else if (e.running) e.poked = true
    else e.dueAt = 0
    this.#pump()
  }

  status(): KeepStatus {
    const pending = [...this.#pending].map(([id, e]) => ({
      id,
      failures: e.failures,
      dueAt: e.running ? 0 : e.dueAt,
      ...(e.error === undefined ? {} : { error: e.error }),
    }))
    return { pending, attempts: this.#attempts, kept: this.#kept, refused: this.#refused }
  }

  /** Makes the pending keeps that `which` picks due now. */
  #due(which: (e: Entry) => boolean): void {
    for (const e of this.#pending.values()) {
      if (!which(e)) continue
      if (e.running) e.poked = true
      else e.dueAt = 0
    }
    this.#pump()
  }

  /** Starts due attempts while slots are free (earliest due first); arms the timer for the rest. */
  #pump(): void {
    if (this.#stopped) return
    const now = Date.now()
    while (this.#running < this.#concurrency) {
      let next: [string, Entry] | undefined
      for (const kv of this.#pending) {
        if (
          !kv[1].running &&
          kv[1].dueAt <= now &&
          (next === undefined || kv[1].dueAt < next[1].dueAt)
        )
          next = kv
      }
      if (next === undefined) break
      this.#run(next[0], next[1])
    }
    let at = Number.POSITIVE_INFINITY
    for (const e of this.#pending.values()) if (!e.running && e.dueAt < at) at = e.dueAt
    if (this.#running >= this.#concurrency) at = Number.POSITIVE_INFINITY // a slot freeing pumps
    this.#arm(at)
  }

  #arm(at: number): void {
    if (at === this.#timerAt) return
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAt = at
    if (at === Number.POSITIVE_INFINITY) return
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined
        this.#timerAt = Number.POSITIVE_INFINITY
        this.#pump()
      },
      Math.max(0, at - Date.now()),
    )
    this.#timer.unref?.()
  }

  #run(id: string, e: Entry): void {
    e.running = true
    e.poked = false
    this.#running++
    this.#attempts++
    void this.#init
      .attempt(id)
      .then(
        () => {
          if (this.#pending.get(id) !== e) return
          this.#pending.delete(id)
          this.#kept++
          if (e.failures > 0) log('kept %s after %d failed attempts', id, e.failures)
        },
        (err: unknown) => this.#failed(id, e, err),
      )
      .finally(() => {
        e.running = false
        this.#running--
        this.#pump()
      })
  }

  #failed(id: string, e: Entry, err: unknown): void {
    if (this.#stopped || this.#pending.get(id) !== e) return
    const name = err instanceof Error ? err.name : 'Error'
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    if (name === 'FileQuotaError') {
      this.#pending.delete(id)
      this.#refused++
      log.error('not keeping %s: over the file quota (tried again when offered, or on restart)', id)
      return
    }
    e.failures++
    e.error = name
    const wait = Math.min(this.#maxRetryMs, this.#retryMs * 2 ** (e.failures - 1))
    const now = e.poked && name !== 'FileStoreFullError'
    e.dueAt = now ? 0 : Date.now() + wait
    const when = now ? 'at once (kept anew meanwhile)' : `in ${Math.round(wait / 1000)} s`
    log('keeping %s failed (attempt %d, %s): trying again %s', id, e.failures, reason, when)
  }
}
