/** Named channels of argument-less callbacks: the client's change notifications. */
import type { Unsubscribe } from '../net/index.ts'
import { createLogger } from '../net/logger.ts'

const log = createLogger('parley:core:emitter')

export class Emitter {
  readonly #channels = new Map<string, Set<() => void>>()

  on(channel: string, cb: () => void): Unsubscribe {
    let set = this.#channels.get(channel)
    if (set === undefined) this.#channels.set(channel, (set = new Set()))
    set.add(cb)
    return () => {
      set.delete(cb)
      if (set.size === 0) this.#channels.delete(channel)
    }
  }

  emit(channel: string): void {
    for (const cb of [...(this.#channels.get(channel) ?? [])]) {
      try {
        cb()
      } catch (err) {
        log.error('listener of %s threw: %e', channel, err)
      }
    }
  }
}
