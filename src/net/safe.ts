/** Calling user callbacks without letting them take the node down. */

/** The part of a `@libp2p/logger` Logger we need (the memory hub passes a no-op). */
export interface ErrorLog {
  error(formatter: string, ...args: unknown[]): void
}

/**
 * Calls `fn`, logging what it throws, and what its promise rejects with if it is async: a
 * subscriber typed `() => void` may still be an `async` function, whose rejection would otherwise
 * be unhandled and crash Node.
 */
export function callSafely(log: ErrorLog, what: string, fn: () => unknown): void {
  try {
    const result = fn()
    if (isThenable(result)) {
      result.then(undefined, (err: unknown) => log.error('%s rejected - %e', what, err))
    }
  } catch (err) {
    log.error('%s threw - %e', what, err)
  }
}

/** Asks a subscription's `accept` check; one that throws is logged and drops the message. */
export function acceptSafely(log: ErrorLog, topic: string, accept: () => boolean): boolean {
  try {
    return accept()
  } catch (err) {
    log.error('accept check on %s threw - %e', topic, err)
    return false
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}
