/**
 * The fetches of one peer's file service: one {@link SharedTransfer} per file, joined by every
 * caller that fetches it (a download, a long text being read, an always-on peer's keep or offer),
 * its progress and the peers caught lying. A pinned fetch joining an unpinned transfer pins the
 * file: what the user downloads is never evicted under the quota.
 */
import { createLogger } from '../../net/logger.ts'
import { AbortError, type PeerIdString, type PeerNet, type Unsubscribe } from '../../net/index.ts'
import { fetchFile, type FetchInit } from './fetch.ts'
import type { AsyncSha256 } from './hash.ts'
import { ProgressMeter, type TransferProgress } from './progress.ts'
import { SharedTransfer } from './shared-transfer.ts'
import type { ChunkStore } from './store.ts'

const log = createLogger('parley:core:files:fetches')

/** Transfer tuning (tests, bench). */
export type FetchTuning = Pick<FetchInit, 'window' | 'batch' | 'idleMs'>

export interface FetchOptions {
  signal?: AbortSignal
  /** Never evicted (the user asked for it). @default true */
  pinned?: boolean
}

export interface FileFetchesInit {
  net: PeerNet
  store: ChunkStore
  sha256: (data: Uint8Array) => Uint8Array
  /** Checks received chunks off the main thread where given (see hash.ts); else `sha256`. */
  sha256Async: AsyncSha256 | undefined
  tuning: FetchTuning
}

/** The transfer of one file, and whether what it fetches is pinned. */
interface Running {
  shared: SharedTransfer
  /** Pinned from the start, or upgraded by a pinned fetch that joined it. */
  pinned: boolean
  /** Upgraded after it started: pin the stored file again once it is held. */
  upgraded: boolean
}

export class FileFetches {
  readonly #init: FileFetchesInit
  readonly #running = new Map<string, Running>()
  readonly #last = new Map<string, TransferProgress>()
  readonly #listeners = new Set<(p: TransferProgress) => void>()
  readonly #lying = new Set<(peer: PeerIdString) => void>()

  constructor(init: FileFetchesInit) {
    this.#init = init
  }

  /**
   * Fetches `id`, or joins its transfer. `background`: a wait the user's {@link cancel} does not
   * end (keeps, offers).
   */
  fetch(id: string, opts: FetchOptions, background: boolean): Promise<void> {
    if (opts.signal?.aborted === true) return Promise.reject(new AbortError())
    const pinned = opts.pinned ?? true
    let run = this.#running.get(id)
    // An aborted transfer still settling is not joined: a new one starts once it has settled.
    if (run === undefined || run.shared.aborted) run = this.#start(id, pinned, run?.shared)
    else if (pinned && !run.pinned) {
      // A user's fetch joining an always-on peer's keep: what the user downloads is never evicted.
      run.pinned = true
      run.upgraded = true
      void this.#pinHeld(id).catch((err: unknown) => log('pin of %s failed: %e', id, err))
    }
    return run.shared.join(opts.signal, background)
  }

  /** Pins `id` if the store knows it (a transfer started unpinned was joined by a pinned fetch). */
  async #pinHeld(id: string): Promise<void> {
    const { store } = this.#init
    const info = await store.get(id)
    if (info === undefined || info.pinned) return
    await store.add(id, (await store.manifestBytes(id))!, info.manifest, { pinned: true })
  }

  #start(id: string, pinned: boolean, before: SharedTransfer | undefined): Running {
    const meter = new ProgressMeter(id, (p) => this.#emit(p))
    const transfer = (signal: AbortSignal): Promise<void> =>
      fetchFile({
        ...this.#init.tuning,
        id,
        net: this.#init.net,
        store: this.#init.store,
        sha256: this.#init.sha256,
        sha256Async: this.#init.sha256Async,
        holders: () => this.#init.net.peers(),
        pinned,
        signal,
        meter,
        onLyingPeer: (peer) => {
          for (const cb of this.#lying) cb(peer)
        },
      })
        // Pinned after it started: the manifest may have been stored unpinned meanwhile.
        .then(() => (running.upgraded ? this.#pinHeld(id) : undefined))
        .then(
          () => meter.update({ state: 'done', peers: 0, etaMs: 0 }, true),
          (err: unknown) => {
            const e = err instanceof Error ? err : new Error(String(err))
            const state =
              e.name === 'AbortError'
                ? 'cancelled'
                : e.name === 'FileStoreFullError'
                  ? 'paused'
                  : 'failed'
            meter.update({ state, error: { name: e.name, message: e.message } }, true)
            throw err
          },
        )
    const shared = new SharedTransfer((signal) =>
      before === undefined
        ? transfer(signal)
        : before.promise.catch(() => undefined).then(() => transfer(signal)),
    )
    const running: Running = { shared, pinned, upgraded: false }
    this.#running.set(id, running)
    void shared.promise
      .catch(() => undefined)
      .finally(() => {
        if (this.#running.get(id) === running) this.#running.delete(id)
      })
    return running
  }

  /** The user's cancel of `id`: every wait but the background ones ends (see SharedTransfer). */
  cancel(id: string): void {
    this.#running.get(id)?.shared.cancel()
  }

  /** Aborts every transfer and waits for them to settle. */
  async abortAll(): Promise<void> {
    const runs = [...this.#running.values()].map((r) => r.shared)
    for (const run of runs) run.abort()
    await Promise.allSettled(runs.map((r) => r.promise))
  }

  /** The latest progress of every transfer this session. */
  transfers(): TransferProgress[] {
    return [...this.#last.values()]
  }

  onProgress(cb: (p: TransferProgress) => void): Unsubscribe {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }

  /** Called with a peer that served a chunk or manifest that did not match. */
  onLyingPeer(cb: (peer: PeerIdString) => void): Unsubscribe {
    this.#lying.add(cb)
    return () => this.#lying.delete(cb)
  }

  #emit(p: TransferProgress): void {
    this.#last.set(p.id, p)
    for (const cb of this.#listeners) cb(p)
  }
}
