/**
 * One open room: its messages (newest periods; older ones on demand), who is typing, our
 * delivery states, the composer draft. Destroy it when the room is closed.
 */
import type { DisplayMessage, Unsubscribe } from '../../core/index.ts'
import type { ParleyClient } from '../../core/client.ts'

/** How long "no older history" holds before scrolling to the top asks again. */
const RETRY_OLDER_MS = 2_000

export class RoomState {
  messages = $state.raw<readonly DisplayMessage[]>([])
  /** Author ids typing now. */
  typing = $state.raw<readonly string[]>([])
  /** Our messages with a seq up to this are held by another peer. */
  delivered = $state.raw(0)
  hasOlder = $state.raw(true)
  loadingOlder = $state.raw(false)
  error = $state.raw<string | undefined>(undefined)
  readonly room: string
  readonly #client: ParleyClient
  readonly #off: Unsubscribe[] = []
  #reads = 0
  #noneAt = 0
  #destroyed = false

  constructor(client: ParleyClient, room: string) {
    this.#client = client
    this.room = room
    this.#off.push(
      client.on(room, () => void this.refresh()),
      client.on(`typing:${room}`, () => (this.typing = client.typing.typers(room))),
    )
    void this.refresh()
  }

  /** Re-reads the room; a slower earlier read never overwrites a newer one. */
  async refresh(): Promise<void> {
    const n = ++this.#reads
    const msgs = await this.#client.messages(this.room)
    if (n !== this.#reads || this.#destroyed) return
    this.messages = msgs
    // Latency breakdown (src/core/trace.ts): the room re-read, before Svelte renders it.
    performance.mark('parley:msg:room-read', { detail: this.room })
    // The first room shown since the page loaded (docs/web.md, "reload phases").
    if (performance.getEntriesByName('parley:room-messages').length === 0)
      performance.mark('parley:room-messages')
    this.delivered = this.#client.deliveredSeq(this.room)
  }

  draft(): string {
    return this.#client.local.draft(this.room)
  }

  saveDraft(text: string): void {
    void this.#client.local.saveDraft(this.room, text)
    if (text !== '') this.#client.typing.notify(this.room)
  }

  async post(text: string): Promise<void> {
    if (text.trim() === '') return
    try {
      await this.#client.post(this.room, text)
      this.error = undefined
    } catch (err) {
      this.error = `Not sent: ${err instanceof Error ? err.message : String(err)}`
      throw err
    }
  }

  /**
   * Loads the next older day of history; false when there is none here yet. Catch-up stores older
   * days while the reader scrolls, so "none" is asked again after a pause, not believed forever.
   */
  async loadOlder(): Promise<boolean> {
    if (this.loadingOlder) return false
    if (!this.hasOlder && Date.now() - this.#noneAt < RETRY_OLDER_MS) return false
    this.loadingOlder = true
    try {
      this.hasOlder = await this.#client.loadOlder(this.room)
      if (!this.hasOlder) this.#noneAt = Date.now()
      await this.refresh()
      return this.hasOlder
    } finally {
      this.loadingOlder = false
    }
  }

  markRead(): void {
    void this.#client.markRead(this.room)
  }

  destroy(): void {
    this.#destroyed = true
    for (const off of this.#off.splice(0)) off()
  }
}
