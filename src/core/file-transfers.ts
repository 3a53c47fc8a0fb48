/**
 * The web app's typed facade over file sharing (issue #5): share a picked, dropped or pasted file in
 * a room, follow uploads and downloads (bytes, speed, time left), cancel, and get a file held here
 * as a Blob for a download link or an `<img>`. Wraps the Messenger's {@link FileService}.
 *
 * ```ts
 * const off = client.files.onChange(() => show(client.files.transfers()))
 * await client.files.attach('general', file, { thumb })   // read chunk by chunk, hashed, posted
 * const blob = await client.files.blob(att)               // fetched from every holder first
 * ```
 *
 * An upload reads the `File` in pieces (`file.stream()`) straight into the chunk store: no whole-file
 * buffer. A download ends as a Blob of stored chunk Blobs where the store supports it
 * ({@link IdbChunkStore.fileBlob}), else one built from the chunks read in turn.
 */
import type { Unsubscribe } from '../net/index.ts'
import type { Attachment } from '../crdt/schema.ts'
import type { Messenger } from './messenger.ts'
import { ProgressMeter, type TransferProgress } from './files/progress.ts'
import { FileStoreFullError } from './files/errors.ts'
import { isEncryptedRoom } from '../crdt/room-ids.ts'

/** One upload or download as the UI shows it. */
export interface TransferView extends TransferProgress {
  /** The file id (downloads), or `up:<n>` for an upload still being read. */
  key: string
  direction: 'up' | 'down'
}

/** What a picked, dropped or pasted file gives. */
export interface PickedFile {
  name: string
  type: string
  size: number
  stream(): ReadableStream<Uint8Array>
}

export interface FileTransfersInit {
  messenger: Messenger
  /** The stored file as one Blob without reading it into memory (the IndexedDB store). */
  fileBlob?: (id: string, type: string) => Promise<Blob>
  /** Called with each message posted (delivery tracking). */
  onPosted?: (room: string, seq: number) => void
}

/** A message for a transfer's named error, in words the user can act on. */
export function describeTransferError(e: { name: string; message: string }): string {
  switch (e.name) {
    case FileStoreFullError.name:
      return 'Disk full: this browser has no room left to store the file. Free some space, then try again.'
    case 'FileQuotaError':
      return 'The file does not fit the storage quota.'
    case 'FileUnavailableError':
      return 'No connected peer has this file right now.'
    default:
      return e.message
  }
}

export class FileTransfers {
  readonly #messenger: Messenger
  readonly #fileBlob: FileTransfersInit['fileBlob']
  readonly #onPosted: NonNullable<FileTransfersInit['onPosted']>
  readonly #views = new Map<string, TransferView>()
  readonly #uploads = new Map<string, AbortController>()
  readonly #listeners = new Set<() => void>()
  readonly #off: Unsubscribe
  #n = 0

  constructor(init: FileTransfersInit) {
    this.#messenger = init.messenger
    this.#fileBlob = init.fileBlob
    this.#onPosted = init.onPosted ?? (() => undefined)
    this.#off = init.messenger.files.onProgress((p) =>
      this.#set({ ...p, key: p.id, direction: 'down' }),
    )
  }

  /** Every upload and download of this session, in the order they started. */
  transfers(): TransferView[] {
    return [...this.#views.values()]
  }

  /** The transfer of `key` (a file id, or an upload's key). */
  transfer(key: string): TransferView | undefined {
    return this.#views.get(key)
  }

  onChange(cb: () => void): Unsubscribe {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }

  /**
   * Shares `file` in `room`: stores it chunk by chunk (progress under an `up:` key), then posts it
   * with `thumb` (a small data-URL image made by the UI) and `caption`. Rejects with AbortError
   * when cancelled, FileStoreFullError when the browser has no room left.
   */
  async attach(
    room: string,
    file: PickedFile,
    opts: { thumb?: string; caption?: string } = {},
  ): Promise<Attachment> {
    const key = `up:${++this.#n}`
    const ac = new AbortController()
    this.#uploads.set(key, ac)
    const meter = new ProgressMeter(key, (p) => this.#set({ ...p, key, direction: 'up' }))
    meter.update({ name: file.name, size: file.size, state: 'fetching', bytes: 0 }, true)
    try {
      const source = counted(file.stream(), ac.signal, (bytes) => meter.update({ bytes }))
      const meta = { name: file.name || 'file', type: file.type, size: file.size }
      // in a private room or dm the chunks are sealed: peers that are not members hold ciphertext
      const sealed = { sealed: isEncryptedRoom(room) }
      const added = await this.#messenger.files.add(source, meta, ac.signal, sealed)
      const att: Attachment = opts.thumb === undefined ? added : { ...added, thumb: opts.thumb }
      const posted = await this.#messenger.share(room, att, opts.caption ?? '')
      this.#onPosted(room, posted.seq)
      meter.update({ bytes: file.size, state: 'done', etaMs: 0 }, true)
      return att
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      const state = e.name === 'AbortError' ? 'cancelled' : 'failed'
      meter.update({ state, error: { name: e.name, message: e.message } }, true)
      throw err
    } finally {
      this.#uploads.delete(key)
    }
  }

  /** Cancels the upload or download `key`; a download keeps what it stored (it resumes later). */
  cancel(key: string): void {
    const up = this.#uploads.get(key)
    if (up !== undefined) up.abort()
    else this.#messenger.files.cancel(key)
  }

  /** Forgets a finished, failed or cancelled transfer (its bar goes away). */
  dismiss(key: string): void {
    const v = this.#views.get(key)
    if (v === undefined || v.state === 'fetching' || v.state === 'manifest') return
    this.#views.delete(key)
    this.#changed()
  }

  /** Whether this browser holds all of `id`. */
  has(id: string): Promise<boolean> {
    return this.#messenger.files.has(id)
  }

  /**
   * The file of `att` as a Blob, fetched from every peer that holds it first (resuming what is
   * stored). Rejects like {@link FileService.fetch}; the transfer's progress shows the error too.
   */
  async blob(att: Pick<Attachment, 'id' | 'type' | 'key'>, signal?: AbortSignal): Promise<Blob> {
    const files = this.#messenger.files
    if (!(await files.has(att.id)))
      await files.fetch(att.id, signal === undefined ? {} : { signal })
    // a sealed file's stored chunks are ciphertext: it is opened chunk by chunk instead
    if (this.#fileBlob !== undefined && att.key === undefined)
      return this.#fileBlob(att.id, att.type)
    const parts: BlobPart[] = []
    for await (const bytes of files.open(att)) parts.push(bytes.slice().buffer)
    return new Blob(parts, { type: att.type })
  }

  /** The whole text of a long-text attachment (fetched first when needed; `key`: sealed). */
  readText(id: string, signal?: AbortSignal, key?: string): Promise<string> {
    return this.#messenger.files.readText(id, signal, key)
  }

  stop(): void {
    this.#off()
    for (const ac of this.#uploads.values()) ac.abort()
  }

  #set(v: TransferView): void {
    this.#views.set(v.key, v)
    this.#changed()
  }

  #changed(): void {
    for (const cb of this.#listeners) cb()
  }
}

/**
 * The pieces of `stream`, reporting the bytes read so far. Cancelling `signal` stops a read that
 * is waiting (a slow disk) at once and throws its AbortError, so a cut file is never shared.
 */
async function* counted(
  stream: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  onBytes: (total: number) => void,
): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader()
  const onAbort = (): void => void reader.cancel(signal.reason).catch(() => undefined)
  signal.addEventListener('abort', onAbort, { once: true })
  let total = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      signal.throwIfAborted()
      if (done) return
      total += value.length
      onBytes(total)
      yield value
    }
  } finally {
    signal.removeEventListener('abort', onAbort)
    // Stops reading the file when the import ends early (cancelled, disk full).
    await reader.cancel().catch(() => undefined)
  }
}
