/**
 * Always-on peers keep the files of the rooms they retain (issue #5, point 4): when a room changes,
 * the attachments of its loaded messages that this peer does not hold are fetched in the background
 * (evictable under the quota). Scans are debounced per room.
 */
import type { DisplayMessage } from '../../crdt/display.ts'

const DEBOUNCE_MS = 300

export class FileKeeper {
  readonly #keep: (id: string) => void
  readonly #messages: (room: string) => Promise<readonly DisplayMessage[]>
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>()
  readonly #seen = new Set<string>()

  constructor(
    keep: (id: string) => void,
    messages: (room: string) => Promise<readonly DisplayMessage[]>,
  ) {
    this.#keep = keep
    this.#messages = messages
  }

  /** `room` changed: look for new attachments soon. */
  soon(room: string): void {
    if (this.#timers.has(room)) return
    const t = setTimeout(() => {
      this.#timers.delete(room)
      void this.#scan(room)
    }, DEBOUNCE_MS)
    t.unref?.()
    this.#timers.set(room, t)
  }

  stop(): void {
    for (const t of this.#timers.values()) clearTimeout(t)
    this.#timers.clear()
  }

  async #scan(room: string): Promise<void> {
    for (const m of await this.#messages(room).catch(() => [])) {
      if (m.file === undefined || this.#seen.has(m.file.id)) continue
      this.#seen.add(m.file.id)
      this.#keep(m.file.id)
    }
  }
}
