/**
 * Fetching a file's missing chunks from all its holders at once: asks each which chunks it has, keeps
 * a few requests in flight per peer (a few chunks each), verifies each chunk's SHA-256 before it is
 * stored, and drops for this transfer a peer that sends one that does not match.
 */
import { createLogger } from '../../net/logger.ts'
import { AbortError, type PeerIdString, type PeerNet } from '../../net/index.ts'
import { FileStoreFullError, FileUnavailableError } from './errors.ts'
import { chunkCount, chunkHash, chunkLength, type FileManifest } from './manifest.ts'
import { hasBit, heldBytes, type ChunkStore } from './store.ts'
import { MAX_CHUNKS_PER_REQUEST, decodeFileFrame, encodeFileFrame } from './wire.ts'
import type { ProgressMeter } from './progress.ts'
import type { AsyncSha256 } from './hash.ts'
import { FetchStats } from './fetch-stats.ts'
import { newPeerState, type PeerState } from './peer-state.ts'

const log = createLogger('parley:core:files:fetch')
/** How long a fetch waits for a peer that can serve the file (or the rest of it). */
export const IDLE_MS = 30_000

export interface ChunkFetchInit {
  id: string
  net: PeerNet
  store: ChunkStore
  sha256: (data: Uint8Array) => Uint8Array
  /** Checks chunks off the main thread where given (see hash.ts); else `sha256`. */
  sha256Async?: AsyncSha256 | undefined
  /** The peers to ask (connected peers of the room); called again as the transfer runs. */
  holders: () => readonly PeerIdString[]
  signal: AbortSignal
  meter: ProgressMeter
  /** A peer sent a chunk or manifest that does not match: it is not asked again in this transfer. */
  onLyingPeer?: (peer: PeerIdString) => void
  /** Requests in flight per peer. @default 2 */
  window?: number
  /** Chunks per request. @default 8 */
  batch?: number
  /**
   * Give up when no connected peer has the manifest, or no chunk arrived and no holder could
   * serve one, for this long. @default 30000
   */
  idleMs?: number
}

/** Waits for every promise; then rejects with the first rejection, if any. */
async function settled(all: readonly Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(all)).find((r) => r.status === 'rejected')
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
}

const TODO = 0
const ASSIGNED = 1
const DONE = 2
const HAVE_REFRESH_MS = 2_000

/** Fetches the missing chunks of a file whose manifest is stored, from every holder at once. */
export class ChunkFetch {
  readonly #init: ChunkFetchInit
  readonly #m: FileManifest
  readonly #state: Uint8Array
  readonly #peers = new Map<PeerIdString, PeerState>()
  readonly #window: number
  readonly #batch: number
  #remaining = 0
  #bytes: number
  #cursor = 0
  #inflight = 0
  #fatal: unknown
  #lastProgress = Date.now()
  #wake: (() => void) | undefined
  readonly #stats = new FetchStats()

  constructor(init: ChunkFetchInit, m: FileManifest, have: Uint8Array) {
    this.#init = init
    this.#m = m
    this.#window = init.window ?? 2
    this.#batch = Math.min(init.batch ?? 8, MAX_CHUNKS_PER_REQUEST)
    const count = chunkCount(m)
    this.#state = new Uint8Array(count)
    for (let i = 0; i < count; i++) {
      if (hasBit(have, i)) this.#state[i] = DONE
      else this.#remaining++
    }
    this.#bytes = heldBytes(m, have)
  }

  async run(): Promise<void> {
    const { signal, store, id } = this.#init
    const idleMs = this.#init.idleMs ?? IDLE_MS
    const onAbort = (): void => this.#notify()
    signal.addEventListener('abort', onAbort)
    try {
      while (this.#remaining > 0 || this.#inflight > 0) {
        if (this.#fatal !== undefined || signal.aborted) {
          if (this.#inflight === 0) break
        } else {
          this.#discover()
          this.#dispatch()
          const idle = this.#inflight === 0 && Date.now() - this.#lastProgress > idleMs
          if (idle && ![...this.#peers.values()].some((p) => p.asking)) {
            throw new FileUnavailableError(`No connected peer serves the rest of file ${id}`)
          }
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve
          setTimeout(resolve, 250)
        })
      }
    } finally {
      signal.removeEventListener('abort', onAbort)
      await store.flush(id)
      this.#init.meter.update({ peers: 0 }, true)
      log('fetch of %s ended: %s', id, this.#stats.summary())
    }
    if (this.#fatal !== undefined) throw this.#fatal
    if (signal.aborted) throw new AbortError()
  }

  #notify(): void {
    this.#wake?.()
    this.#wake = undefined
  }

  /** Asks new holders (and, every few seconds, idle ones) which chunks they have. */
  #discover(): void {
    const now = Date.now()
    for (const peer of this.#init.holders()) {
      let ps = this.#peers.get(peer)
      if (ps === undefined) {
        ps = newPeerState()
        this.#peers.set(peer, ps)
      }
      if (!ps.bad && !ps.asking && ps.inflight === 0 && now - ps.askedAt > HAVE_REFRESH_MS) {
        void this.#askHave(peer, ps)
      }
    }
  }

  async #askHave(peer: PeerIdString, ps: PeerState): Promise<void> {
    ps.asking = true
    ps.askedAt = Date.now()
    try {
      const request = encodeFileFrame({ type: 'have-request', id: this.#init.id })
      for await (const frame of this.#init.net.request(peer, request, {
        signal: this.#init.signal,
      })) {
        const f = decodeFileFrame(frame)
        if (f.type === 'have' && f.id === this.#init.id && f.count === this.#state.length) {
          ps.have = f.bitmap.slice()
        }
      }
    } catch (err) {
      log('have of %s from %s failed: %e', this.#init.id, peer, err)
    } finally {
      ps.asking = false
      this.#notify()
    }
  }

  #dispatch(): void {
    const connected = new Set(this.#init.holders())
    const now = Date.now()
    for (const [peer, ps] of this.#peers) {
      if (ps.bad || ps.have === undefined || now < ps.retryAt || !connected.has(peer)) continue
      while (ps.inflight < this.#window) {
        const pick = this.#pick(ps.have)
        if (pick.length === 0) break
        for (const i of pick) this.#state[i] = ASSIGNED
        void this.#fetchBatch(peer, ps, pick)
      }
    }
    let serving = 0
    for (const ps of this.#peers.values()) if (ps.inflight > 0) serving++
    this.#init.meter.update({ peers: serving })
  }

  /** Up to `batch` unassigned chunks that `have` holds, lowest first. */
  #pick(have: Uint8Array): number[] {
    while (this.#cursor < this.#state.length && this.#state[this.#cursor] === DONE) this.#cursor++
    const out: number[] = []
    for (let i = this.#cursor; i < this.#state.length && out.length < this.#batch; i++) {
      if (this.#state[i] === TODO && hasBit(have, i)) out.push(i)
    }
    return out
  }

  /**
   * Asks `peer` for `indices` and stores each chunk that matches its hash. A chunk is checked and
   * stored while the next ones arrive (the store may commit several in one write), so the link is
   * not idle while the store works; the request ends once every chunk it brought is stored.
   */
  async #fetchBatch(peer: PeerIdString, ps: PeerState, indices: number[]): Promise<void> {
    const { id, net, signal } = this.#init
    ps.inflight++
    this.#inflight++
    const pending = new Set(indices)
    const stats = this.#stats.of(peer)
    const storing: Promise<void>[] = []
    let t = performance.now()
    try {
      const request = encodeFileFrame({ type: 'chunks-request', id, indices })
      // Between Node peers the chunks may come over the net's bulk side channel (same frames).
      for await (const frame of net.request(peer, request, { signal, bulk: true })) {
        const now = performance.now()
        stats.waitMs += now - t
        t = now
        const f = decodeFileFrame(frame)
        if (f.type === 'file-error') break
        if (f.type !== 'chunk' || f.id !== id || !pending.has(f.index)) {
          throw new Error(`unexpected ${f.type} frame`)
        }
        pending.delete(f.index)
        const stored = this.#checkAndStore(peer, ps, f.index, f.bytes)
        // Awaited below (settled); until then a failed write (a full disk) is not unhandled.
        stored.catch(() => undefined)
        storing.push(stored)
        if (ps.bad || this.#fatal !== undefined) break
      }
      await settled(storing)
    } catch (err) {
      await Promise.allSettled(storing) // a chunk being stored settles before it can be retried
      if (err instanceof FileStoreFullError) this.#fatal ??= err
      else if (!signal.aborted) {
        ps.fails++
        ps.retryAt = Date.now() + Math.min(10_000, 250 * 2 ** ps.fails)
        log('chunks of %s from %s failed: %e', id, peer, err)
      }
    } finally {
      for (const i of indices) {
        if (this.#state[i] !== ASSIGNED) continue
        this.#state[i] = TODO
        this.#cursor = Math.min(this.#cursor, i)
      }
      ps.inflight--
      this.#inflight--
      this.#notify()
    }
  }

  /** Checks chunk `index` from `peer` against its hash and stores it; rejects as the store does. */
  async #checkAndStore(
    peer: PeerIdString,
    ps: PeerState,
    index: number,
    bytes: Uint8Array,
  ): Promise<void> {
    const stats = this.#stats.of(peer)
    const t0 = performance.now()
    if (!(await this.#matches(index, bytes))) return this.#reject(peer, ps, index)
    const t1 = performance.now()
    stats.hashMs += t1 - t0
    await this.#init.store.writeChunk(this.#init.id, index, bytes)
    stats.writeMs += performance.now() - t1
    stats.chunks++
    stats.bytes += bytes.length
    this.#state[index] = DONE
    this.#remaining--
    this.#bytes += bytes.length
    this.#lastProgress = Date.now()
    ps.fails = 0
    this.#init.meter.update({ bytes: this.#bytes })
  }

  async #matches(index: number, bytes: Uint8Array): Promise<boolean> {
    if (bytes.length !== chunkLength(this.#m, index)) return false
    const want = chunkHash(this.#m, index)
    const { sha256, sha256Async } = this.#init
    const got = sha256Async === undefined ? sha256(bytes) : await sha256Async(bytes)
    for (let i = 0; i < 32; i++) if (got[i] !== want[i]) return false
    return true
  }

  #reject(peer: PeerIdString, ps: PeerState, index: number): void {
    if (ps.bad) return // another request to it was refused first
    log.error(
      '%s sent chunk %d of %s that does not match its hash: not asking it again',
      peer,
      index,
      this.#init.id,
    )
    ps.bad = true
    this.#init.onLyingPeer?.(peer)
  }
}
