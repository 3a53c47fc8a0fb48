/** Progress of one transfer, as the UI and `parley get` show it: bytes, speed, time left. */

export type TransferState = 'manifest' | 'fetching' | 'done' | 'paused' | 'failed' | 'cancelled'

export interface TransferProgress {
  id: string
  /** The file's name, once its manifest is known ('' before). */
  name: string
  size: number
  /** Bytes held (verified and stored). */
  bytes: number
  state: TransferState
  /** Bytes per second over the last few seconds. */
  speed: number
  /** Estimated milliseconds left at that speed; undefined while unknown. */
  etaMs: number | undefined
  /** Peers chunks are being fetched from right now. */
  peers: number
  /** Why the transfer paused or failed (`FileStoreFullError`, `FileUnavailableError`, …). */
  error?: { name: string; message: string }
}

const WINDOW_MS = 3_000
const EMIT_EVERY_MS = 100

/** Keeps the speed over a sliding window and emits progress at most every 100 ms (and on changes of state). */
export class ProgressMeter {
  readonly #emit: (p: TransferProgress) => void
  readonly #samples: { t: number; bytes: number }[] = []
  #last = 0
  progress: TransferProgress

  constructor(id: string, emit: (p: TransferProgress) => void) {
    this.#emit = emit
    this.progress = {
      id,
      name: '',
      size: 0,
      bytes: 0,
      state: 'manifest',
      speed: 0,
      etaMs: undefined,
      peers: 0,
    }
  }

  update(patch: Partial<TransferProgress>, force = false): void {
    const now = Date.now()
    const p = { ...this.progress, ...patch }
    // Speed over the window, recomputed on every update: it falls to 0 while nothing arrives.
    this.#samples.push({ t: now, bytes: p.bytes })
    while (this.#samples.length > 2 && now - this.#samples[0]!.t > WINDOW_MS) this.#samples.shift()
    const first = this.#samples[0]!
    const dt = (now - first.t) / 1000
    p.speed = dt > 0 ? Math.max(0, p.bytes - first.bytes) / dt : 0
    p.etaMs = p.speed > 0 ? ((p.size - p.bytes) / p.speed) * 1000 : undefined
    const changed = p.state !== this.progress.state
    this.progress = p
    if (force || changed || now - this.#last >= EMIT_EVERY_MS) {
      this.#last = now
      this.#emit(p)
    }
  }
}
