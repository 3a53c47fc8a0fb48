/**
 * Which chains of each room moved on here lately, and when: our own as we publish them, others'
 * as they are stored. A peer learnt to follow a room only later is pushed those that moved since
 * its link came up (PeerSync, `LATE_SUBSCRIBER_MS`). Times by `performance.now()`: an entry and a
 * link that came in the same millisecond are still ordered.
 */
import { hex } from './store.ts'

/**
 * How long after entries reach us — our own as we publish them, others' by gossip, a pull or a
 * push — a peer learnt to follow their room's topic is pushed them (PeerSync): a peer whose link
 * came up a moment before took a digest or a pull of the room, and what we published or forwarded
 * between that and its subscription reaching us went to everyone but it. Beyond this,
 * anti-entropy repairs what it missed.
 */
export const LATE_SUBSCRIBER_MS = 10_000

export class RecentChains {
  /** Per room, the authors whose entries reached us lately and when (ms). */
  readonly #moved = new Map<string, Map<string, { author: Uint8Array; at: number }>>()

  /** Entries of `authors` in `room` reached this peer now. */
  moved(room: string, authors: readonly Uint8Array[]): void {
    const byAuthor = this.#moved.get(room) ?? new Map()
    const now = performance.now()
    for (const author of authors) byAuthor.set(hex(author), { author, at: now })
    this.#moved.set(room, byAuthor)
    this.#forget(room, now)
  }

  /** The authors whose entries reached this peer in `room` since `since`, within `LATE_SUBSCRIBER_MS`. */
  since(room: string, since: number): Uint8Array[] {
    this.#forget(room, performance.now())
    const byAuthor = this.#moved.get(room)
    if (byAuthor === undefined) return []
    return [...byAuthor.values()].filter((a) => a.at >= since).map((a) => a.author)
  }

  /** Drops what moved in `room` longer than `LATE_SUBSCRIBER_MS` before `now`. */
  #forget(room: string, now: number): void {
    const byAuthor = this.#moved.get(room)
    if (byAuthor === undefined) return
    for (const [key, { at }] of byAuthor) if (at < now - LATE_SUBSCRIBER_MS) byAuthor.delete(key)
    if (byAuthor.size === 0) this.#moved.delete(room)
  }
}
