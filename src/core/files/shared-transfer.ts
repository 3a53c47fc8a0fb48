/**
 * One transfer of a file, waited on by several callers (a download, a long text being read, an
 * always-on peer's keep, a peer's offer). Each caller's signal ends only its own wait; the
 * transfer is aborted once no caller waits any more, or for all at once by {@link abort}.
 */
import { AbortError } from '../../net/index.ts'

interface Waiter {
  /** A background wait (keeping a file, answering an offer): the user's cancel does not end it. */
  background: boolean
  end: () => void
}

export class SharedTransfer {
  /** Settles as the transfer does (fulfilled once the file is held whole). */
  readonly promise: Promise<void>
  readonly #ac = new AbortController()
  readonly #waiters = new Set<Waiter>()

  /** Starts `run` with the transfer's own signal, aborted when the last waiter has gone. */
  constructor(run: (signal: AbortSignal) => Promise<void>) {
    this.promise = run(this.#ac.signal)
  }

  /** Whether the transfer was aborted (it may still be settling): a new caller starts another. */
  get aborted(): boolean {
    return this.#ac.signal.aborted
  }

  /**
   * Waits for the transfer; `signal` ends this wait only (AbortError), and the transfer too when
   * nobody else waits. A wait without a signal lasts until the transfer settles or is cancelled.
   */
  join(signal: AbortSignal | undefined, background: boolean): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(new AbortError())
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        background,
        end: () => {
          if (!this.#waiters.delete(w)) return
          signal?.removeEventListener('abort', w.end)
          reject(new AbortError())
          if (this.#waiters.size === 0) this.#ac.abort()
        },
      }
      this.#waiters.add(w)
      signal?.addEventListener('abort', w.end, { once: true })
      this.promise.then(resolve, reject).finally(() => {
        this.#waiters.delete(w)
        signal?.removeEventListener('abort', w.end)
      })
    })
  }

  /**
   * The user's cancel: ends every wait but the background ones. The transfer stops unless a
   * background wait (an always-on peer keeping the file) is left; it then goes on for that one.
   */
  cancel(): void {
    for (const w of [...this.#waiters]) if (!w.background) w.end()
  }

  /** Aborts the transfer for every waiter (the messenger stops). */
  abort(): void {
    this.#ac.abort()
  }
}
