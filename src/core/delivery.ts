/**
 * Per-message delivery: a message of ours is `delivered` once another peer is known to hold our
 * chain in its room up to its seq (the messenger's heads book, fed by push acknowledgements and
 * pull heads). Until then it is `pending`: written here, and pushed to every peer that connects.
 * The highest delivered seq per room is remembered locally, so a reload shows the same states.
 */
import { createLogger } from '../net/logger.ts'
import { parseMessageId } from '../crdt/schema.ts'
import type { Messenger } from './messenger.ts'
import type { LocalState } from './local-state.ts'

const log = createLogger('parley:core:delivery')

/**
 * How long after a post the push that asks a peer to confirm it holds it waits. Gossip carries the
 * message first; the push opens a stream and has the peer check the entries again, and sent at
 * once it competed with the message itself on both ends (and could verify it twice there).
 */
export const PUSH_AFTER_MS = 250

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
    function done(): void {
      clearTimeout(t)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}

export class Delivery {
  readonly #messenger: Messenger
  readonly #local: LocalState
  readonly #onChange: (room: string) => void
  /** room → highest seq we wait for. */
  readonly #target = new Map<string, number>()
  readonly #running = new Set<string>()
  readonly #stop = new AbortController()

  constructor(messenger: Messenger, local: LocalState, onChange: (room: string) => void) {
    this.#messenger = messenger
    this.#local = local
    this.#onChange = onChange
  }

  /** After a reload: waits for our messages in `room` above the remembered delivered seq. */
  async resume(room: string): Promise<void> {
    const me = this.#messenger.identity.authorId
    let top = 0
    for (const m of await this.#messenger.messages(room)) {
      if (m.author === me) top = Math.max(top, parseMessageId(m.id)?.seq ?? 0)
    }
    if (top > (this.#local.data.delivered[room] ?? 0)) await this.track(room, top)
  }

  /** Waits (in the background) until another peer holds our chain in `room` up to `seq`. */
  async track(room: string, seq: number): Promise<void> {
    this.#target.set(room, Math.max(seq, this.#target.get(room) ?? 0))
    if (this.#running.has(room)) return
    this.#running.add(room)
    try {
      await pause(PUSH_AFTER_MS, this.#stop.signal)
      for (;;) {
        const want = this.#target.get(room) ?? 0
        if (want <= (this.#local.data.delivered[room] ?? 0) || this.#stop.signal.aborted) break
        await this.#messenger.waitDelivered(room, want, this.#stop.signal)
        await this.#local.update((d) => {
          d.delivered[room] = Math.max(want, d.delivered[room] ?? 0)
        })
        this.#onChange(room)
      }
    } catch (err) {
      if (!this.#stop.signal.aborted) log('delivery of %s stopped: %e', room, err)
    } finally {
      this.#running.delete(room)
    }
  }

  stop(): void {
    this.#stop.abort()
  }
}
