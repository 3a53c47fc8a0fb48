/**
 * Names and limits shared by every PeerNet implementation. Pure values: no libp2p import, so the
 * upper layers and the browser bundle can use them freely.
 */

/** Largest frame `request` and `handle` carry, and largest pubsub message published (gossipsub drops > 4 MiB). */
export const MAX_FRAME_BYTES = 3 * 1024 * 1024

/** Every Parley topic starts with this, so that a wire change can bump it (`parley/2`) and old peers ignore it. */
export const TOPIC_PREFIX = 'parley/1'

/** Topic where peers announce who is online. */
export const PRESENCE_TOPIC = `${TOPIC_PREFIX}/presence`

/** Topic where peers announce the rooms they know. */
export const ROOMS_TOPIC = `${TOPIC_PREFIX}/rooms`

/** The gossipsub topic of one room: `parley/1/room/<roomId>`. */
export function roomTopic(roomId: string): string {
  return `${TOPIC_PREFIX}/room/${roomId}`
}

/** The room whose topic `topic` is ({@link roomTopic}), or undefined for any other topic. */
export function topicRoom(topic: string): string | undefined {
  const prefix = `${TOPIC_PREFIX}/room/`
  return topic.startsWith(prefix) && topic.length > prefix.length
    ? topic.slice(prefix.length)
    : undefined
}

/** The libp2p protocol that carries `request`/`handle`: one request frame in, response frames out. */
export const SYNC_PROTOCOL = '/parley/sync/1.0.0'

/** How long a responder waits for the request frame before giving up on the stream. */
export const REQUEST_READ_TIMEOUT_MS = 10_000

/**
 * How often every connection is pinged (link-monitor.ts, libp2p's ping protocol): a ping that gets
 * no answer within 5 s or more (adapted to the link) aborts the connection. A link cut silently is
 * noticed within this plus the ping's timeout; then it is redialled as a fresh loss. libp2p's own
 * connection monitor, which this replaces, pinged every 10 s.
 */
export const PING_INTERVAL_MS = 3_000

/**
 * A direct link whose ping has waited this long is probed (link-monitor.ts): a fresh connection to
 * the same peer is dialled beside it. Coming up while the ping still waits, it shows the old link
 * stuck in TCP's retransmission backoff after a cut or heavy loss that has ended (a link left open
 * through a cut of 3–15 s resumes only at its next retransmission, 3–13 s after the heal).
 */
export const LINK_STALL_MS = 1_000

/** A ping answered this late marks its link troubled (a LAN answers in milliseconds). */
export const LINK_SLOW_PING_MS = 500

/** How long a link stays troubled after a slow or stalled ping. */
export const LINK_TROUBLED_FOR_MS = 30_000

/**
 * A link monitor tick this late means our own event loop is overloaded: for the next ping interval
 * no link is marked troubled (link-monitor.ts).
 */
export const LINK_BUSY_LAG_MS = 100

/** How often a troubled link is pinged (others: `PING_INTERVAL_MS`). */
export const LINK_TROUBLED_PING_MS = 1_000

/**
 * A probe whose connection has not opened within this gives up (its SYN dropped: the cut still
 * holds) and the next starts, at most one a second: the first SYN after the heal gets through.
 */
export const LINK_PROBE_CONNECT_MS = 1_000

/** How long `dial` and the dial inside `request` may take before they fail. */
export const DIAL_TIMEOUT_MS = 10_000

/** Concurrent inbound sync streams accepted per connection; more are refused by libp2p. */
export const MAX_INBOUND_SYNC_STREAMS = 32

/** Concurrent outbound sync streams per connection. */
export const MAX_OUTBOUND_SYNC_STREAMS = 64

/**
 * Requests we run at once to one peer; more wait their turn (src/net/peer-slots.ts). Half the
 * inbound cap a peer enforces: a stream we have finished with may still count there a moment.
 */
export const MAX_REQUESTS_PER_PEER = MAX_INBOUND_SYNC_STREAMS / 2

/**
 * Connections kept open at most. An office LAN is small: we keep every peer, and this only guards
 * against a runaway (a misbehaving peer opening connections in a loop).
 */
export const MAX_CONNECTIONS = 300

/** A discovered peer is not redialled sooner than this after a dial to it failed (guards against dial storms). */
export const DISCOVERY_REDIAL_MIN_MS = 5_000

/** First delay before redialling a lost bootstrap peer; doubles on each failure up to the maximum. */
export const BOOTSTRAP_RETRY_MIN_MS = 500

/** Longest delay between two redials of a bootstrap peer. */
export const BOOTSTRAP_RETRY_MAX_MS = 30_000

/** First delay before redialling a lost peer (redial.ts); doubles on each failure up to the maximum. */
export const REDIAL_MIN_MS = 500

/**
 * A lost peer's first redials are "fresh": a LAN peer lost to a pulled cable, a switch or a
 * restart is most often back within seconds, and every second between its return and our next
 * dial is a second its messages wait (docs/reliability.md, "Chaos"). While fresh, the delay
 * between two redials grows to at most `REDIAL_FRESH_MAX_MS`, and a dial whose connection has not
 * opened within `REDIAL_FRESH_DIAL_TIMEOUT_MS` gives up: a dial started while the link is down
 * sends SYNs that are dropped, and TCP retries them only after 1, 3 and 7 s, so a 10 s dial
 * would hold the next try back for seconds after the link is back. (A LAN connection opens in
 * milliseconds; a connection that opened gets the full `DIAL_TIMEOUT_MS` for its handshake.)
 * The same holds for bootstrap peers (peers.ts).
 */
export const REDIAL_FRESH_ATTEMPTS = 20

/** Longest delay between two fresh redials of a lost peer. */
export const REDIAL_FRESH_MAX_MS = 2_000

/** How long a fresh redial waits for its connection to open before it fails. */
export const REDIAL_FRESH_DIAL_TIMEOUT_MS = 3_000

/** Longest delay between two redials of a lost peer. */
export const REDIAL_MAX_MS = 30_000

/**
 * Failed redials of a lost peer before it is given up (about 7 minutes with the delays above: a
 * minute or two of fresh ones, then five minutes of slower ones): long enough for a peer
 * restarting or a link coming back, bounded for one gone for good.
 */
export const REDIAL_MAX_ATTEMPTS = 30

/**
 * Gossip messages from one peer that our subscriptions' `accept` checks may refuse within a second
 * before the peer is cut off: far above what an honest peer or relay sends over its budget (every
 * peer refuses a flood before forwarding it, so a relay passes on at most its own budget).
 */
export const FLOOD_REFUSED_PER_SECOND = 1_000

/** How long a peer cut off for flooding is kept out (no dial, no connection either way). */
export const FLOOD_COOL_OFF_MS = 60_000

/** A new WebRTC connection must open a stream within this, or it is closed (webrtc-check.ts). */
export const WEBRTC_VERIFY_MS = 5_000

/**
 * The libp2p protocol that carries admission proofs: one proof frame in, one verdict frame out
 * (admitted, or refused with an optional reason: admit-protocol.ts).
 */
export const ADMIT_PROTOCOL = '/parley/admit/1.0.0'

/** Largest admission proof sent or accepted (a certificate chain and a signature fit easily). */
export const MAX_PROOF_BYTES = 64 * 1024

/**
 * A connected peer must be admitted (its proof verified by us, ours by it) within this, or it is
 * disconnected; also the longest a proof read or a verification may take.
 */
export const ADMISSION_TIMEOUT_MS = 5_000

/**
 * Longest refusal reason text (UTF-8 bytes) a verdict carries; a longer one is cut on sending and
 * refused on reading. Its verdict frame is at most 2 bytes more (verdict byte, code byte).
 */
export const MAX_REFUSAL_BYTES = 200

/**
 * A peer we refused (or a stranger that timed out `ADMISSION_TIMEOUT_STRIKES` times in a row) is not
 * let back in, nor dialled, for this long.
 */
export const ADMISSION_BLOCK_MS = 60_000

/**
 * Admission timeouts in a row after which a peer that connects to us without ever proving itself
 * is blocked; a single late proof only closes the connection (admission-strikes.ts).
 */
export const ADMISSION_TIMEOUT_STRIKES = 3

/** Peers remembered as refused at most (oldest forgotten first): bounds memory under a flood of ids. */
export const MAX_BLOCKED_PEERS = 1_024

/** Open connections one not-yet-admitted peer may have; more are refused by the connection gater. */
export const MAX_UNADMITTED_CONNECTIONS = 4

/**
 * The libp2p protocol on which an admitted Node peer asks another for a bulk side channel (a
 * token and a secret for one plain TCP connection: bulk.ts).
 */
export const BULK_PROTOCOL = '/parley/bulk/1.0.0'

/** A bulk token not redeemed within this is forgotten. */
export const BULK_TOKEN_TTL_MS = 10_000

/** Bulk tokens outstanding at most (over all peers); more requests for one are refused. */
export const MAX_BULK_TOKENS = 256

/** Connections to the bulk listener that have not yet shown a token, at most. */
export const MAX_BULK_HANDSHAKES = 64

/** A connection to the bulk listener must show its token, and get its answer, within this. */
export const BULK_HANDSHAKE_MS = 5_000

/** Opening a bulk channel (token over libp2p, TCP connect, handshake) may take this long. */
export const BULK_OPEN_TIMEOUT_MS = 5_000

/** A bulk channel idle on the client for this long is closed. */
export const BULK_IDLE_CLIENT_MS = 20_000

/** A bulk channel idle on the server for this long is closed (longer than the client's). */
export const BULK_IDLE_SERVER_MS = 60_000

/** Idle bulk channels kept per peer by the client. */
export const MAX_IDLE_BULK_CHANNELS = 4

/** After failing to open a bulk channel to a peer, its requests use the libp2p stream this long. */
export const BULK_RETRY_MS = 60_000

/**
 * Topics a peer may subscribe to on our node: its subscriptions beyond are ignored (gossipsub
 * neither records nor forwards to them) and one RPC carrying more fails to decode. An always-on
 * peer holds every room of its org, dms included, so this is generous; it bounds what a peer
 * subscribing to 100,000 topics costs us (issue #6).
 */
export const MAX_TOPICS_PER_PEER = 10_000

/** What gossipsub charges one subscription against a peer's budget: the topic plus a fixed 1,024. */
export const TOPIC_BUDGET_BYTES = MAX_TOPICS_PER_PEER * (1_024 + TOPIC_PREFIX.length + 6 + 64)
