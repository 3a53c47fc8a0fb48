/**
 * One clock for every bench process on this machine: wall-clock milliseconds with sub-millisecond
 * resolution (`performance.timeOrigin` is taken from the system clock when the process starts, so
 * two processes agree to within a few microseconds).
 */
export const now = (): number => performance.timeOrigin + performance.now()

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))

/** Resolves once `check` returns true (polled every `everyMs`), rejects after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 5,
): Promise<void> {
  const deadline = now() + timeoutMs
  while (!(await check())) {
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}
