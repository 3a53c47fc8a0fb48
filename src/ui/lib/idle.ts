/** Away after idle: calls `onChange('away')` after `idleMs` without activity, 'online' on return. */
export interface IdleWatcher {
  /** The user did something (key, pointer, focus). */
  activity(): void
  stop(): void
}

export function watchIdle(idleMs: number, onChange: (s: 'online' | 'away') => void): IdleWatcher {
  let state: 'online' | 'away' = 'online'
  let timer: ReturnType<typeof setTimeout> | undefined
  const arm = (): void => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      state = 'away'
      onChange('away')
    }, idleMs)
  }
  arm()
  return {
    activity() {
      if (state === 'away') {
        state = 'online'
        onChange('online')
      }
      arm()
    },
    stop: () => clearTimeout(timer),
  }
}

/** How long without input before 'away', unless the page address says otherwise. */
export const AWAY_AFTER_MS = 5 * 60_000

/**
 * The idle time before 'away' for this tab: `?away=<seconds>` in the page's address (1 to 86,400),
 * else {@link AWAY_AFTER_MS}. A per-tab preference; the e2e test uses it to see 'away' in seconds.
 */
export function awayAfterMs(search: string): number {
  const raw = new URLSearchParams(search).get('away')
  if (raw === null || !/^\d{1,5}$/.test(raw)) return AWAY_AFTER_MS
  const seconds = Number(raw)
  return seconds >= 1 && seconds <= 86_400 ? seconds * 1000 : AWAY_AFTER_MS
}
