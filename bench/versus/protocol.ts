/**
 * Commands of a central-server client process (`bench/versus/client.ts`): an XMPP group-chat
 * client of Prosody, or a Yjs client of a y-websocket relay. Timestamps are `now()` readings
 * (bench/lib/clock.ts), comparable across the processes of one machine.
 */

/** Messages per archive page after the first (Prosody's max_archive_query_results is set to it). */
export const MAM_PAGE = 1000

/** Which server the client talks to, and where. */
export interface Endpoint {
  system: 'xmpp' | 'yws'
  port: number
  room: string
}

export interface CatchupTimes {
  /** From just before connecting, ms. */
  connected: number
  /** The newest 50 messages held (what a client shows first). */
  newest50: number
  /** Every message held. */
  all: number
  count: number
}

export interface VersusCommands {
  /** Connects and joins the room (no history: live traffic only). */
  connect: { args: Endpoint & { nick: string }; result: { ms: number } }
  /** Notes when each message (by its seq) first arrives from now on. */
  watch: { args: Record<string, never>; result: Record<string, never> }
  /** Sends `count` messages of `bytes` bytes at `rate` per second. */
  send: {
    args: { count: number; rate: number; bytes: number }
    result: { records: { seq: number; tCall: number }[] }
  }
  /** Sends `count` messages as fast as the connection takes them. */
  flood: { args: { count: number; bytes: number }; result: { tStart: number; tSent: number } }
  /** Resolves once `n` distinct messages arrived since `watch` (or after `timeoutMs`). */
  waitCount: { args: { n: number; timeoutMs: number }; result: { t: number; count: number } }
  /** seq → first arrival, since `watch`. */
  received: { args: Record<string, never>; result: { shown: [number, number][] } }
  /** A fresh client: connects, then fetches the room's history until it holds `n` messages. */
  catchup: { args: Endpoint & { nick: string; n: number; timeoutMs: number }; result: CatchupTimes }
  cpu: { args: Record<string, never>; result: { ms: number } }
  stop: { args: Record<string, never>; result: Record<string, never> }
}
