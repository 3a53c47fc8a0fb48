/** File sharing (issue #5): what the Messenger and the platforms' stores use. */
export { FileService, type FetchOptions, type FileTuning } from './service.ts'
export { MemoryChunkStore } from './memory-store.ts'
export { isFileFrame } from './wire.ts'
export { UnsealedFileError, isSealed } from './sealed.ts'
export type { ChunkStore, ImportSink, StoredFileInfo } from './store.ts'
export type { TransferProgress, TransferState } from './progress.ts'
export * from './errors.ts'
export { LONG_TEXT_BYTES } from './long-text.ts'
