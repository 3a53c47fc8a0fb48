/**
 * A {@link Messenger}'s rounds with other peers beyond live gossip: every room reconciled with each
 * peer that connects and with a random one every anti-entropy interval, `syncNow` for one-shot
 * commands, and pushes of our newest entries to a peer until one acknowledges them.
 */
import { createLogger } from '../net/logger.ts'
import { topicRoom, type PeerIdString, type PeerNet, type Unsubscribe } from '../net/index.ts'
import { hex } from './store.ts'
import type { HeadsBook } from './heads-book.ts'
import type { RoomHistory } from './room-history.ts'
import type { RoomSync } from './sync.ts'

const log = createLogger('parley:core:messenger')

/** Most reconcile rounds one `syncNow` runs (one more than a short pull needs). */
const SYNC_NOW_ROUNDS = 3

export interface PeerSyncInit {
  net: PeerNet
  sync: RoomSync
  heads: HeadsBook
  /** Opens (or returns) the history of a room held here. */
  join: (room: string) => Promise<RoomHistory>
  /** This device's author key. */
  me: Uint8Array
  /** Mean interval of anti-entropy rounds, ms. */
  antiEntropyMs: number
}

/** A connected peer as the late-subscriber push sees it. */
interface LinkState {
  /** When we learnt of the link (`performance.now()`). */
  at: number
  /** Per room, when we last pushed the peer what had reached us there. */
  pushed: Map<string, number>
}

export class PeerSync {
  readonly #i: PeerSyncInit
  #timer: ReturnType<typeof setTimeout> | undefined
  readonly #off: Unsubscribe[] = []

  constructor(init: PeerSyncInit) {
    this.#i = init
  }

  /**
   * Reconciles with every peer now connected and each one that connects; starts anti-entropy.
   * A peer learnt to follow a room is pushed the newest entries of each chain that moved on here
   * since its link came up (within `LATE_SUBSCRIBER_MS`, recent-chains.ts): what we published or forwarded
   * meanwhile went to the subscribers we knew, and its digest or pull of the room may have been
   * taken before.
   */
  start(): void {
    /** Connected peers: when we learnt of the link, and per room when we last pushed it (ms). */
    let links = new Map<PeerIdString, LinkState>()
    const linkOf = (): LinkState => ({ at: performance.now(), pushed: new Map() })
    this.#off.push(
      this.#i.net.onPeers((peers) => {
        const now = new Map<PeerIdString, LinkState>()
        for (const p of peers) {
          now.set(p, links.get(p) ?? linkOf())
          if (!links.has(p)) this.#reconcile(p)
        }
        for (const p of links.keys()) if (!now.has(p)) this.#i.heads.forget(p)
        links = now
      }),
      // What came before the link came up, its reconcile finds; what came before a push to it
      // went with that push: a peer that subscribes again and again (it may be hostile) is
      // pushed no more than entries reach us.
      this.#i.net.onSubscribed((peer, topic) => {
        const room = topicRoom(topic)
        const link = links.get(peer)
        if (room === undefined || link === undefined) return
        const authors = this.#i.sync.recent.since(room, link.pushed.get(room) ?? link.at)
        if (authors.length === 0) return
        link.pushed.set(room, performance.now())
        for (const author of authors)
          this.pushTo(peer, room, undefined, author).catch((err: unknown) =>
            log('push of %s to late subscriber %s failed: %e', room, peer, err),
          )
      }),
    )
    for (const p of this.#i.net.peers()) {
      links.set(p, linkOf())
      this.#reconcile(p)
    }
    this.#scheduleAntiEntropy()
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    for (const off of this.#off.splice(0)) off()
  }

  /**
   * Reconciles every room with every connected peer and waits for the pulls (CLI and tests);
   * again while a round found rooms that differ, at most `SYNC_NOW_ROUNDS` rounds. A fresh
   * device pulls `sys.org` and its rooms at once: entries by authors whose certificates that
   * `sys.org` pull has not brought yet are refused, and only the next round stores them (a
   * one-shot `parley read --peer` printed 2 of 3 messages so, [CLI9]).
   */
  async syncNow(signal?: AbortSignal): Promise<void> {
    const { net, sync } = this.#i
    for (let round = 0; round < SYNC_NOW_ROUNDS && signal?.aborted !== true; round++) {
      const pulled = await Promise.all(
        net.peers().map((p) => sync.reconcile(p, signal).catch(() => 0)),
      )
      await sync.settled(signal)
      if (pulled.every((n) => n === 0)) return
    }
  }

  /**
   * Resolves with a peer that holds our chain in `room` up to `seq`, pushing to every connected
   * peer (now and as peers connect) until one acknowledges.
   */
  async waitDelivered(room: string, seq: number, signal?: AbortSignal): Promise<PeerIdString> {
    const done = this.#i.heads.waitFor(room, hex(this.#i.me), seq, signal)
    const tried = new Set<PeerIdString>()
    const tryPeers = (peers: readonly PeerIdString[]): void => {
      for (const p of peers) {
        if (tried.has(p)) continue
        tried.add(p)
        void this.pushTo(p, room, signal).catch((err: unknown) => {
          tried.delete(p)
          log('push of %s to %s failed: %e', room, p, err)
        })
      }
    }
    const off = this.#i.net.onPeers(tryPeers)
    tryPeers(this.#i.net.peers())
    try {
      return await done
    } finally {
      off()
    }
  }

  /**
   * Pushes the newest entries of `room` by `author` (default: ours) to `peer`; resolves with the seq
   * it acknowledged (0 when we hold none of that author's).
   */
  async pushTo(
    peer: PeerIdString,
    room: string,
    signal?: AbortSignal,
    author: Uint8Array = this.#i.me,
  ): Promise<number> {
    const h = await this.#i.join(room)
    const held = h.author(author)
    if (held === undefined) return 0
    const entries = await h.entriesOf(held.author, Math.max(1, held.head.seq - 63), held.head.seq)
    const verified = entries.map((e) => ({
      entry: { author: e.author, seq: e.seq, period: e.period } as never,
      stored: e,
    }))
    return this.#i.sync.push(peer, room, held.head, verified, signal)
  }

  #reconcile(peer: PeerIdString): void {
    this.#i.sync
      .reconcile(peer)
      .catch((err: unknown) => log('reconcile with %s failed: %e', peer, err))
  }

  #scheduleAntiEntropy(): void {
    const delay = this.#i.antiEntropyMs * (0.5 + Math.random())
    this.#timer = setTimeout(() => {
      const peers = this.#i.net.peers()
      const peer = peers[Math.floor(Math.random() * peers.length)]
      if (peer !== undefined) this.#reconcile(peer)
      if (this.#timer !== undefined) this.#scheduleAntiEntropy()
    }, delay)
    this.#timer.unref?.()
  }
}
