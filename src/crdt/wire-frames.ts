/**
 * The sync frames' shapes and the protocol's limits (docs/architecture.md, "Sync protocol"); their
 * bytes are wire.ts's job.
 */
import type { SignedHead } from './entry.ts'

/** One room in a digest exchange. */
export interface RoomDigest {
  room: string
  /** sha256 over the sender's authors of the room: key, contiguous seq, head seq and hash (core/sync.ts). */
  digest: Uint8Array
}
/** Anti-entropy request: the requester's rooms and digests. Answered by {@link DigestReplyFrame}. */
export interface DigestFrame {
  type: 'digest'
  /**
   * The peer id of the sender: who holds the state it describes. Announcements are gossiped,
   * so without it two peers announcing the same state would send identical bytes, and gossipsub
   * would drop the second as a duplicate.
   */
  sender: string
  rooms: RoomDigest[]
}
/** The responder's rooms and digests; the requester pulls the rooms that differ. */
export interface DigestReplyFrame {
  type: 'digest-reply'
  rooms: RoomDigest[]
}
/** Catch-up request for one room. Answered by Heads, Entries × n, End. */
export interface PullFrame {
  type: 'pull'
  room: string
  /** Per author: the seq up to which the requester's chain is contiguous. */
  have: { author: Uint8Array; seq: number }[]
}
/**
 * Gossiped room announcement (core/room-announce.ts): the sender holds entries of `room` that
 * arrived outside the room's gossip; a peer holding less of any author pulls them.
 */
export interface AnnounceFrame {
  type: 'announce'
  /** The peer id of the sender (see {@link DigestFrame.sender}). */
  sender: string
  room: string
  /** Per author: the seq up to which the sender's chain is contiguous. */
  have: { author: Uint8Array; seq: number }[]
}
/** The sender's signed heads for one room (also the acknowledgement of a push). */
export interface HeadsFrame {
  type: 'heads'
  room: string
  /** Every head's `room` is the frame's `room`. */
  heads: SignedHead[]
}
/**
 * Entries of one room, for the requester to verify backwards from the heads, in any order (the
 * requester orders them by chain). A pull sends them newest first (src/core/sync-serve.ts).
 */
export interface EntriesFrame {
  type: 'entries'
  room: string
  /** The period of the frame's first entry (older periods' entries may follow it; informative). */
  period: number
  /** Encoded entries (views of the frame bytes once decoded). */
  entries: Uint8Array[]
}
/** The end of a pull response. */
export interface EndFrame {
  type: 'end'
  room: string
}
/** New entries of one author with its signed head: live gossip, or a push request. */
export interface PushFrame {
  type: 'push'
  room: string
  head: SignedHead
  /** Encoded entries, oldest first, ending with the one `head` names. */
  entries: Uint8Array[]
}
/** What a device shows as its status. */
export type PresenceStatus = 'online' | 'away' | 'offline'
/** A device's signed presence announcement. `seq` grows with each announcement (replay protection). */
export interface Presence {
  author: Uint8Array
  peer: string
  name: string
  status: PresenceStatus
  wall: number
  seq: number
  /** Ed25519 signature by `author` of {@link presenceMessage}. */
  sig: Uint8Array
}
/** A {@link Presence} on the wire (gossiped on the presence topic). */
export interface PresenceFrame extends Presence {
  type: 'presence'
}
/** A refused request. */
export interface ErrorFrame {
  type: 'error'
  /** Machine-readable: lowercase letters, digits and `-`, ≤ 64 characters. */
  code: string
  message: string
}
/** Every sync frame, discriminated by `type`. */
export type Frame =
  | DigestFrame
  | DigestReplyFrame
  | PullFrame
  | HeadsFrame
  | EntriesFrame
  | EndFrame
  | PushFrame
  | PresenceFrame
  | ErrorFrame
  | AnnounceFrame

/** Largest encoded frame (gossipsub drops messages over 4 MiB). Same value as src/net's. */
export const MAX_FRAME_BYTES = 3 * 1024 * 1024
/** The second byte of every frame. */
export const WIRE_VERSION = 1
/** Most rooms in one digest. */
export const MAX_DIGEST_ROOMS = 10_000
/** Most heads (or `have` items) in one frame; the frame size cap binds first for heads (~24,000). */
export const MAX_HEADS = 100_000
/** Default entry budget of {@link chunkEntries}: the frame cap minus room for the other fields. */
export const MAX_ENTRIES_BYTES = MAX_FRAME_BYTES - 4096
