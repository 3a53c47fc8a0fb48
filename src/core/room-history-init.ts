/**
 * What a room's history is made with (src/core/room-history.ts), and the org's gate on the
 * remote entries it stores.
 */
import type { HybridClock } from '../crdt/hlc.ts'
import type { ChatMessage } from '../crdt/schema.ts'
import type { DocPersistence } from '../crdt/doc-persistence.ts'
import type { HistoryStore, StoredHead, Verified } from './store.ts'
import type { Identity } from './identity.ts'
import type { RoomDirectory } from './room-directory.ts'
import type { StageTrace } from './trace.ts'

/**
 * Which remote entries may be stored (the org's membership check, src/core/org-room.ts): given
 * verified entries (ascending per author) and the head they were verified against, returns what may
 * be stored — the entries it admits and the head to keep (another one, such as a revocation cut's
 * head, or none). A chain cannot continue past a refused entry, and a head must not claim entries
 * that were refused. The caller logs nothing: the gate logs why it refused.
 */
export type EntryGate = (
  room: string,
  entries: readonly Verified[],
  head: StoredHead | undefined,
) => Promise<{ entries: readonly Verified[]; head: StoredHead | undefined }>

export interface RoomHistoryInit {
  room: string
  store: HistoryStore
  identity: Identity
  clock: HybridClock
  /** A document changed (remote or local): the UI should re-read. */
  onChange: () => void
  /** Local entries were stored: publish them (resolves once handed to the network). */
  onLocal: (room: string, head: StoredHead, entries: readonly Verified[]) => Promise<void> | void
  /**
   * Entries from elsewhere (gossip, a pull, a push request) were stored: the authors they were
   * of, once each. @default none
   */
  onStored?: (room: string, authors: readonly Uint8Array[]) => void
  /** Persists period documents as they change (browser). @default snapshots in `store` */
  docs?: DocPersistence
  /** Decides which remote entries may be stored. @default every verified entry */
  gate?: EntryGate
  /** Who may hold the keys of an encrypted room (the org's directory). @default the room's records */
  directory?: () => RoomDirectory | undefined
  /** Key records came in after which this device should start a new epoch (a member left). */
  onKeysDue?: () => void
  /** Told the stages each entry passes here (src/core/trace.ts). @default none */
  trace?: StageTrace
  /**
   * The highest seq of an author that counts in this room by a revocation cut (src/core/revocation-cut.ts):
   * stored entries beyond it are not applied. @default none
   */
  cutOf?: (room: string, author: Uint8Array) => number | undefined
  /** Unload documents unread and unwritten this long; build none while none is read. @default keep */
  idleMs?: number
  /**
   * Messages other peers posted, as their entries are stored (read from the entries: documents
   * loaded or not), in a room this peer can read. @default none
   */
  onPosted?: (room: string, messages: ChatMessage[]) => void
}
