/**
 * File sharing for one peer (issue #5): the facade the Messenger, the CLI and the UI use.
 *
 * ```ts
 * const att = await messenger.files.add(file.stream(), { name, type, size })  // hash + store
 * await messenger.share('general', att)                                       // the chat message
 * await messenger.files.fetch(att.id, { signal })                             // from every holder
 * messenger.files.onProgress((p) => show(p.bytes, p.size, p.speed, p.etaMs))
 * for await (const bytes of messenger.files.read(att.id)) sink.write(bytes)
 * ```
 */
import type { PeerIdString, PeerNet, Unsubscribe } from '../../net/index.ts'
import type { Attachment, ChatMessage } from '../../crdt/schema.ts'
import { addFile } from './add.ts'
import { FileKeeper } from './keeper.ts'
import { KeepQueue, type KeepStatus, type KeepTuning } from './keep-queue.ts'
import { addText, longText, readText } from './long-text.ts'
import { answerOffer, offerTo, waitHeld } from './offers.ts'
import type { ImportMeta } from './import.ts'
import type { TransferProgress } from './progress.ts'
import { openHeld, readHeld } from './read.ts'
import { serveFileRequest, throttledTouch } from './serve.ts'
import { FileFetches, type FetchOptions, type FetchTuning } from './fetches.ts'
import { subtleSha256, type AsyncSha256 } from './hash.ts'
import type { ChunkStore } from './store.ts'

export type { FetchOptions } from './fetches.ts'

export interface FileServiceInit {
  net: PeerNet
  store: ChunkStore
  sha256: (data: Uint8Array) => Uint8Array
  /**
   * Checks received chunks with this instead of `sha256`, off the main thread; given as undefined,
   * `sha256` in the thread. @default WebCrypto where the platform has it (see hash.ts)
   */
  sha256Async?: AsyncSha256 | undefined
  /** Accept offers and keep the files of held rooms (always-on peers). @default false */
  retain?: boolean
  /** Tuning of transfers (tests, bench). */
  fetch?: FetchTuning
  /** Chunk size of files added here. @default CHUNK_SIZE (1 MiB) */
  chunkSize?: number
  /** How failed keeps are tried again (tests). @default see {@link KeepQueue} */
  keep?: KeepTuning
}

/** Transfer tuning, how chunks are checked, the chunk size of files added here, keep retries. */
export type FileTuning = Pick<FileServiceInit, 'fetch' | 'chunkSize' | 'sha256Async' | 'keep'>

export class FileService {
  readonly store: ChunkStore
  readonly #net: PeerNet
  readonly #sha256: (data: Uint8Array) => Uint8Array
  readonly #retain: boolean
  readonly #chunkSize: number | undefined
  readonly #transfers: FileFetches
  /** Marks a served file used, at most every few seconds. */
  readonly #touch: (id: string) => void
  readonly #keeps: KeepQueue

  constructor(init: FileServiceInit) {
    this.store = init.store
    this.#net = init.net
    this.#sha256 = init.sha256
    this.#retain = init.retain ?? false
    this.#chunkSize = init.chunkSize
    this.#transfers = new FileFetches({
      net: init.net,
      store: init.store,
      sha256: init.sha256,
      sha256Async: 'sha256Async' in init ? init.sha256Async : subtleSha256(),
      tuning: init.fetch ?? {},
    })
    this.#touch = throttledTouch(init.store)
    this.#keeps = new KeepQueue({
      ...init.keep,
      attempt: async (id) => {
        if (!(await this.has(id))) await this.#transfers.fetch(id, { pinned: false }, true)
      },
      onPeers: (cb) => this.#net.onPeers(cb),
    })
  }

  /** Answers a file request (the Messenger routes file frames here). */
  serve(request: Uint8Array, from: PeerIdString, signal: AbortSignal): AsyncIterable<Uint8Array> {
    return serveFileRequest(
      {
        store: this.store,
        touch: this.#touch,
        onOffer: (id, peer, full, s) =>
          answerOffer(
            {
              net: this.#net,
              store: this.store,
              sha256: this.#sha256,
              retain: this.#retain,
              fetch: (f, opts) => this.#transfers.fetch(f, opts, true),
              keep: (f) => this.keep(f),
            },
            id,
            peer,
            full,
            s,
          ),
      },
      request,
      from,
      signal,
    )
  }

  /**
   * Stores a file from this device (a byte stream of any length) and gives its attachment record.
   * `sealed` (files of encrypted rooms): stored as ciphertext under a fresh key the attachment
   * carries (src/core/files/sealed.ts); read it back with {@link open}.
   */
  add(
    source: AsyncIterable<Uint8Array>,
    meta: ImportMeta,
    signal?: AbortSignal,
    opts: { sealed?: boolean } = {},
  ): Promise<Attachment> {
    const init = { store: this.store, sha256: this.#sha256, chunkSize: this.#chunkSize }
    return addFile(init, source, meta, signal, opts.sealed === true)
  }

  /**
   * The bytes of an attachment's file held whole here, as its sharer gave them: {@link read}, and
   * for a sealed file each chunk opened with the attachment's key (`DecryptionError` if one does
   * not open).
   */
  open(att: Pick<Attachment, 'id' | 'key'>): AsyncGenerator<Uint8Array> {
    return openHeld(this.store, this.#sha256, att)
  }

  /**
   * For a text over `LONG_TEXT_BYTES` (long-text.ts): stores it whole as a text file and gives its preview
   * and attachment record. Undefined for a text that fits a message.
   */
  longText(
    text: string,
    sealed = false,
  ): Promise<{ preview: string; file: Attachment } | undefined> {
    return longText(this, text, sealed)
  }

  /**
   * Keeps the files of held rooms (always-on peers): those of messages as they are stored
   * (`onPosted`), and at start those of each held room's newest messages (`held`); attachments not
   * held are fetched in the background, failed ones tried again (see {@link KeepQueue}). Returns a
   * function that stops it.
   */
  keepFilesOf(
    onPosted: (cb: (messages: readonly ChatMessage[]) => void) => Unsubscribe,
    held: { rooms: readonly string[]; messages: (room: string) => Promise<readonly ChatMessage[]> },
  ): Unsubscribe {
    const keeper = new FileKeeper((id) => this.keep(id))
    const off = onPosted((messages) => keeper.posted(messages))
    this.#keeps.start()
    void keeper.scan(held.rooms, held.messages)
    return () => {
      off()
      keeper.stop()
      this.#keeps.stop()
    }
  }

  /** The files this peer still has to keep, and how keeping went (always-on peers). */
  keeping(): KeepStatus {
    return this.#keeps.status()
  }

  /** Stores a long text as a file (UTF-8; `sealed` in encrypted rooms) and gives its attachment. */
  addText(text: string, sealed = false): Promise<Attachment> {
    return addText(this, text, sealed)
  }

  /**
   * Fetches file `id` from every connected peer that holds it, resuming with what is already
   * stored. One transfer per file: a second call joins the first (a pinned one pins what an
   * unpinned one fetches). `signal` ends this caller's wait only; the transfer stops once no caller
   * waits (what was stored is kept). Rejects with `FileUnavailableError`, `FileStoreFullError`
   * (paused: call again once there is room), `FileQuotaError`, or `AbortError` (cancelled).
   */
  fetch(id: string, opts: FetchOptions = {}): Promise<void> {
    return this.#transfers.fetch(id, opts, false)
  }

  /**
   * The user's cancel of the download of `id`: every wait for it ends (AbortError) and the
   * transfer stops; what was stored is kept (a later fetch resumes). An always-on peer that also
   * keeps the file goes on fetching it for its keep.
   */
  cancel(id: string): void {
    this.#transfers.cancel(id)
  }

  /** Cancels every transfer and waits for them to settle (the messenger stops). */
  async stopAll(): Promise<void> {
    this.#keeps.stop() // before the aborts, so that no keep starts a transfer again
    await this.#transfers.abortAll()
  }

  /** The latest progress of every transfer this session. */
  transfers(): TransferProgress[] {
    return this.#transfers.transfers()
  }

  onProgress(cb: (p: TransferProgress) => void): Unsubscribe {
    return this.#transfers.onProgress(cb)
  }

  /** Called with a peer that served a chunk or manifest that did not match (tests, UI). */
  onLyingPeer(cb: (peer: PeerIdString) => void): Unsubscribe {
    return this.#transfers.onLyingPeer(cb)
  }

  /** Whether this store holds all of `id`. */
  async has(id: string): Promise<boolean> {
    return (await this.store.get(id))?.complete === true
  }

  /**
   * The bytes of a file this store holds whole, chunk by chunk, each checked against its hash
   * again (`FileNotHeldError` when not all is held).
   */
  read(id: string): AsyncGenerator<Uint8Array> {
    return readHeld(this.store, this.#sha256, id)
  }

  /** The whole text of a long-text attachment (`key`: a sealed one's), fetched first if needed. */
  readText(id: string, signal?: AbortSignal, key?: string): Promise<string> {
    return readText(this, id, signal, key)
  }

  /**
   * Offers `id` to `peer`: a peer that keeps files fetches the manifest (and, with `full`, the
   * whole file) from us and acknowledges. Resolves with the last stage acknowledged.
   */
  offer(
    peer: PeerIdString,
    id: string,
    full: boolean,
    signal?: AbortSignal,
  ): Promise<'manifest' | 'complete' | undefined> {
    return offerTo(this.#net, peer, id, full, signal)
  }

  /**
   * Offers `id` to every connected peer (and to peers as they connect) until one acknowledges
   * `stage`; resolves with that peer.
   */
  waitHeld(id: string, stage: 'manifest' | 'complete', signal: AbortSignal): Promise<PeerIdString> {
    return waitHeld(this.#net, id, stage, signal)
  }

  /**
   * Keeps a file seen in a held room or offered (always-on peers): fetched in the background,
   * evictable, tried again until held or refused over the quota (see {@link KeepQueue}).
   */
  keep(id: string): void {
    if (this.#retain) this.#keeps.keep(id)
  }
}
