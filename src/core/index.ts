/**
 * The facade the UI and the Node peer use. Types from crdt and net are re-exported here so that
 * callers above core never import those layers.
 */
export { Messenger, type MessengerInit, type Posted } from './messenger.ts'
export { InvalidRoomError } from './room-set.ts'
export type { DisplayMessage } from '../crdt/display.ts'
export type { ChatMessage, RoomMeta } from '../crdt/schema.ts'
export type { PeerIdString, Unsubscribe, PeerConnectionInfo } from '../net/index.ts'
export type { PresenceInfo, PresenceStatus } from './presence.ts'
export type { HistoryStore } from './store.ts'
export type { Attachment } from '../crdt/schema.ts'
export {
  FileService,
  MemoryChunkStore,
  LONG_TEXT_BYTES,
  FileStoreFullError,
  FileQuotaError,
  FileUnavailableError,
  FileNotHeldError,
  type FetchOptions,
  type ChunkStore,
  type ImportSink,
  type StoredFileInfo,
  type TransferProgress,
  type TransferState,
} from './files/index.ts'
export { MAX_THUMB_CHARS } from '../crdt/schema.ts'
export {
  FileTransfers,
  describeTransferError,
  type TransferView,
  type PickedFile,
} from './file-transfers.ts'
