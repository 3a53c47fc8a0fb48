/**
 * Always-on peers keep the files of the rooms they retain (issue #5, point 4): the attachments of
 * messages as their entries are stored, and at start those of each room's newest messages (a
 * restart tries again what was not kept), are fetched in the background when this peer does not
 * hold them (evictable under the quota). Reading the stored entries, not the room's documents,
 * lets an always-on peer keep files of rooms whose documents it does not hold in memory.
 */
import type { ChatMessage } from '../../crdt/schema.ts'

export class FileKeeper {
  readonly #keep: (id: string) => void
  readonly #seen = new Set<string>()
  #stopped = false

  constructor(keep: (id: string) => void) {
    this.#keep = keep
  }

  /** Keeps the files of `messages` not kept before. */
  posted(messages: Iterable<Pick<ChatMessage, 'file'>>): void {
    if (this.#stopped) return
    for (const m of messages) {
      if (m.file === undefined || this.#seen.has(m.file.id)) continue
      this.#seen.add(m.file.id)
      this.#keep(m.file.id)
    }
  }

  /** Keeps the files of the messages `read` gives, one room after another (at start). */
  async scan(rooms: readonly string[], read: (room: string) => Promise<readonly ChatMessage[]>) {
    for (const room of rooms) {
      if (this.#stopped) return
      this.posted(await read(room).catch(() => []))
    }
  }

  stop(): void {
    this.#stopped = true
  }
}
