/** Racing a promise against an abort signal, for callees that do not listen to one themselves. */

/**
 * `p`, or a rejection with `reason()` (the signal's own reason unless given) once `signal` aborts
 * first. `p` is left to settle unheard; its rejection is never unhandled.
 */
export function raceSignal<T>(
  p: Promise<T>,
  signal: AbortSignal,
  reason: () => unknown = () => signal.reason,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(reason())
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
