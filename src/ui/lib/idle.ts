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
