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
import { createLogger } from '../../net/logger.ts'
import { AbortError, type PeerIdString, type PeerNet, type Unsubscribe } from '../../net/index.ts'
import type { Attachment } from '../../crdt/schema.ts'
import type { DisplayMessage } from '../../crdt/display.ts'
import { utf8Length } from '../../crdt/guards.ts'
import { FileKeeper } from './keeper.ts'
import { KeepQueue, type KeepStatus, type KeepTuning } from './keep-queue.ts'
import { LONG_TEXT_BYTES, previewOf } from './long-text.ts'
import { FileNotHeldError } from './errors.ts'
import { fetchFile, type FetchInit } from './fetch.ts'
import { answerOffer, offerTo, waitHeld } from './offers.ts'
import { bytesSource, importFile, type ImportMeta } from './import.ts'
import { CHUNK_SIZE, chunkCount, chunkHash } from './manifest.ts'
import { openSealed, sealSource } from './sealed.ts'
import {
  SEALED_NAME,
  fileKeyHex,
  fileKeyOf,
  newFileKey,
  plainSize,
  sealedSize,
} from '../../crdt/file-seal.ts'
import { ProgressMeter, type TransferProgress } from './progress.ts'
import { serveFileRequest } from './serve.ts'
import { SharedTransfer } from './shared-transfer.ts'
import { subtleSha256, type AsyncSha256 } from './hash.ts'
import type { ChunkStore } from './store.ts'

const log = createLogger('parley:core:files')
/** A file served is marked used at most this often. */
const TOUCH_EVERY_MS = 5_000

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
  fetch?: Pick<FetchInit, 'window' | 'batch' | 'idleMs'>
  /** Chunk size of files added here. @default CHUNK_SIZE (1 MiB) */
  chunkSize?: number
  /** How failed keeps are tried again (tests). @default see {@link KeepQueue} */
  keep?: KeepTuning
}

/** Transfer tuning, how chunks are checked, the chunk size of files added here, keep retries. */
export type FileTuning = Pick<FileServiceInit, 'fetch' | 'chunkSize' | 'sha256Async' | 'keep'>

export interface FetchOptions {
  signal?: AbortSignal
  /** Never evicted (the user asked for it). @default true */
  pinned?: boolean
}

/** The transfer of one file, and whether what it fetches is pinned. */
interface Running {
  shared: SharedTransfer
  /** Pinned from the start, or upgraded by a pinned fetch that joined it. */
  pinned: boolean
  /** Upgraded after it started: pin the stored file again once it is held. */
  upgraded: boolean
}

export class FileService {
  readonly store: ChunkStore
  readonly #net: PeerNet
  readonly #sha256: (data: Uint8Array) => Uint8Array
  readonly #sha256Async: AsyncSha256 | undefined
  readonly #retain: boolean
  readonly #tuning: Pick<FetchInit, 'window' | 'batch' | 'idleMs'>
  readonly #chunkSize: number | undefined
  readonly #running = new Map<string, Running>()
  /** When each file was last marked used by serving it. */
  readonly #touched = new Map<string, number>()
  readonly #last = new Map<string, TransferProgress>()
  readonly #listeners = new Set<(p: TransferProgress) => void>()
  readonly #lying = new Set<(peer: PeerIdString) => void>()
  readonly #keeps: KeepQueue

  constructor(init: FileServiceInit) {
    this.store = init.store
    this.#net = init.net
    this.#sha256 = init.sha256
    this.#sha256Async = 'sha256Async' in init ? init.sha256Async : subtleSha256()
    this.#retain = init.retain ?? false
    this.#tuning = init.fetch ?? {}
    this.#chunkSize = init.chunkSize
    this.#keeps = new KeepQueue({
      ...init.keep,
      attempt: async (id) => {
        if (!(await this.has(id))) await this.#fetch(id, { pinned: false }, true)
      },
      onPeers: (cb) => this.#net.onPeers(cb),
    })
  }

  /** Answers a file request (the Messenger routes file frames here). */
  serve(request: Uint8Array, from: PeerIdString, signal: AbortSignal): AsyncIterable<Uint8Array> {
    return serveFileRequest(
      {
        store: this.store,
        touch: (id) => this.#touch(id),
        onOffer: (id, peer, full, s) =>
          answerOffer(
            {
              net: this.#net,
              store: this.store,
              sha256: this.#sha256,
              retain: this.#retain,
              fetch: (f, opts) => this.#fetch(f, opts, true),
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
   * Marks `id` used, at most every {@link TOUCH_EVERY_MS}: serving touches per request (every few
   * MiB), and each touch is a durable write (an fsync in SQLite, a read-write transaction over every
   * IndexedDB store) that blocked the event loop or queued ahead of chunk writes.
   */
  #touch(id: string): void {
    const now = Date.now()
    if (now - (this.#touched.get(id) ?? Number.NEGATIVE_INFINITY) < TOUCH_EVERY_MS) return
    this.#touched.set(id, now)
    void this.store.touch(id).catch((err: unknown) => log('touch of %s failed: %e', id, err))
  }

  /**
   * Stores a file from this device (a byte stream of any length) and gives its attachment record.
   * `sealed` (files of encrypted rooms): stored as ciphertext under a fresh key the attachment
   * carries (src/core/files/sealed.ts); read it back with {@link open}.
   */
  async add(
    source: AsyncIterable<Uint8Array>,
    meta: ImportMeta,
    signal?: AbortSignal,
    opts: { sealed?: boolean } = {},
  ): Promise<Attachment> {
    if (opts.sealed === true) {
      const key = newFileKey()
      const cs = this.#chunkSize ?? CHUNK_SIZE
      const sealedMeta = { name: SEALED_NAME, type: '', size: sealedSize(meta.size, cs) }
      const sealed = sealSource(source, key, cs)
      const { id, manifest: m } = await importFile(
        this.store,
        this.#sha256,
        sealed,
        sealedMeta,
        signal,
        cs,
      )
      const size = plainSize(m.size, m.chunkSize)
      return { id, name: meta.name, size, type: meta.type, kind: 'file', key: fileKeyHex(key) }
    }
    const { id, manifest } = await importFile(
      this.store,
      this.#sha256,
      source,
      meta,
      signal,
      this.#chunkSize,
    )
    return { id, name: manifest.name, size: manifest.size, type: manifest.type, kind: 'file' }
  }

  /**
   * The bytes of an attachment's file held whole here, as its sharer gave them: {@link read}, and
   * for a sealed file each chunk opened with the attachment's key (`DecryptionError` if one does
   * not open).
   */
  async *open(att: Pick<Attachment, 'id' | 'key'>): AsyncGenerator<Uint8Array> {
    if (att.key === undefined) return yield* this.read(att.id)
    const info = await this.store.get(att.id)
    if (info?.complete !== true) throw new FileNotHeldError(`file ${att.id} is not held whole`)
    yield* openSealed(this.read(att.id), fileKeyOf(att.key), info.manifest)
  }

  /**
   * For a text over {@link LONG_TEXT_BYTES}: stores it whole as a text file and gives its preview
   * and attachment record. Undefined for a text that fits a message.
   */
  async longText(
    text: string,
    sealed = false,
  ): Promise<{ preview: string; file: Attachment } | undefined> {
    if (utf8Length(text) <= LONG_TEXT_BYTES) return undefined
    return { preview: previewOf(text), file: await this.addText(text, sealed) }
  }

  /**
   * Keeps the files of held rooms (always-on peers): scans a room's messages when it changes and
   * fetches attachments not held, in the background, trying failed ones again (see
   * {@link KeepQueue}). Returns a function that stops it.
   */
  keepFilesOf(
    onRoomChange: (cb: (room: string) => void) => Unsubscribe,
    messages: (room: string) => Promise<readonly DisplayMessage[]>,
  ): Unsubscribe {
    const keeper = new FileKeeper((id) => this.keep(id), messages)
    const off = onRoomChange((room) => keeper.soon(room))
    this.#keeps.start()
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
  async addText(text: string, sealed = false): Promise<Attachment> {
    const bytes = new TextEncoder().encode(text)
    const meta = { name: 'message.txt', type: 'text/plain; charset=utf-8', size: bytes.length }
    return { ...(await this.add(bytesSource(bytes), meta, undefined, { sealed })), kind: 'text' }
  }

  /**
   * Fetches file `id` from every connected peer that holds it, resuming with what is already
   * stored. One transfer per file: a second call joins the first. `signal` ends this caller's wait
   * only; the transfer stops once no caller waits (what was stored is kept). Rejects with
   * `FileUnavailableError`, `FileStoreFullError` (paused: call again once there is room),
   * `FileQuotaError`, or `AbortError` (cancelled).
   */
  fetch(id: string, opts: FetchOptions = {}): Promise<void> {
    return this.#fetch(id, opts, false)
  }

  /** `background`: a wait the user's {@link cancel} does not end (keeps, offers). */
  #fetch(id: string, opts: FetchOptions, background: boolean): Promise<void> {
    if (opts.signal?.aborted === true) return Promise.reject(new AbortError())
    const pinned = opts.pinned ?? true
    let run = this.#running.get(id)
    // An aborted transfer still settling is not joined: a new one starts once it has settled.
    if (run === undefined || run.shared.aborted) run = this.#start(id, pinned, run?.shared)
    else if (pinned && !run.pinned) {
      // A user's fetch joining an always-on peer's keep: what the user downloads is never evicted.
      run.pinned = true
      run.upgraded = true
      void this.#pinHeld(id).catch((err: unknown) => log('pin of %s failed: %e', id, err))
    }
    return run.shared.join(opts.signal, background)
  }

  /** Pins `id` if the store knows it (a transfer started unpinned was joined by a pinned fetch). */
  async #pinHeld(id: string): Promise<void> {
    const info = await this.store.get(id)
    if (info === undefined || info.pinned) return
    await this.store.add(id, (await this.store.manifestBytes(id))!, info.manifest, { pinned: true })
  }

  #start(id: string, pinned: boolean, before: SharedTransfer | undefined): Running {
    const meter = new ProgressMeter(id, (p) => this.#emit(p))
    const transfer = (signal: AbortSignal): Promise<void> =>
      fetchFile({
        ...this.#tuning,
        id,
        net: this.#net,
        store: this.store,
        sha256: this.#sha256,
        sha256Async: this.#sha256Async,
        holders: () => this.#net.peers(),
        pinned,
        signal,
        meter,
        onLyingPeer: (peer) => {
          for (const cb of this.#lying) cb(peer)
        },
      })
        // Pinned after it started: the manifest may have been stored unpinned meanwhile.
        .then(() => (running.upgraded ? this.#pinHeld(id) : undefined))
        .then(
          () => meter.update({ state: 'done', peers: 0, etaMs: 0 }, true),
          (err: unknown) => {
            const e = err instanceof Error ? err : new Error(String(err))
            const state =
              e.name === 'AbortError'
                ? 'cancelled'
                : e.name === 'FileStoreFullError'
                  ? 'paused'
                  : 'failed'
            meter.update({ state, error: { name: e.name, message: e.message } }, true)
            throw err
          },
        )
    const shared = new SharedTransfer((signal) =>
      before === undefined
        ? transfer(signal)
        : before.promise.catch(() => undefined).then(() => transfer(signal)),
    )
    const running: Running = { shared, pinned, upgraded: false }
    this.#running.set(id, running)
    void shared.promise
      .catch(() => undefined)
      .finally(() => {
        if (this.#running.get(id) === running) this.#running.delete(id)
      })
    return running
  }

  /**
   * The user's cancel of the download of `id`: every wait for it ends (AbortError) and the
   * transfer stops; what was stored is kept (a later fetch resumes). An always-on peer that also
   * keeps the file goes on fetching it for its keep.
   */
  cancel(id: string): void {
    this.#running.get(id)?.shared.cancel()
  }

  /** Cancels every transfer and waits for them to settle (the messenger stops). */
  async stopAll(): Promise<void> {
    this.#keeps.stop() // before the aborts, so that no keep starts a transfer again
    const runs = [...this.#running.values()].map((r) => r.shared)
    for (const run of runs) run.abort()
    await Promise.allSettled(runs.map((r) => r.promise))
  }

  /** The latest progress of every transfer this session. */
  transfers(): TransferProgress[] {
    return [...this.#last.values()]
  }

  onProgress(cb: (p: TransferProgress) => void): Unsubscribe {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }

  /** Called with a peer that served a chunk or manifest that did not match (tests, UI). */
  onLyingPeer(cb: (peer: PeerIdString) => void): Unsubscribe {
    this.#lying.add(cb)
    return () => this.#lying.delete(cb)
  }

  #emit(p: TransferProgress): void {
    this.#last.set(p.id, p)
    for (const cb of this.#listeners) cb(p)
  }

  /** Whether this store holds all of `id`. */
  async has(id: string): Promise<boolean> {
    return (await this.store.get(id))?.complete === true
  }

  /**
   * The bytes of a file this store holds whole, chunk by chunk, each checked against its hash
   * again (`FileNotHeldError` when not all is held).
   */
  async *read(id: string): AsyncGenerator<Uint8Array> {
    const info = await this.store.get(id)
    if (info?.complete !== true) throw new FileNotHeldError(`file ${id} is not held whole`)
    const m = info.manifest
    for (let i = 0; i < chunkCount(m); i++) {
      const bytes = await this.store.readChunk(id, i)
      if (!equal(this.#sha256(bytes), chunkHash(m, i))) {
        throw new FileNotHeldError(`chunk ${i} of ${id} is corrupt on this disk`)
      }
      yield bytes
    }
    await this.store.touch(id)
  }

  /** The whole text of a long-text attachment (`key`: a sealed one's), fetched first if needed. */
  async readText(id: string, signal?: AbortSignal, key?: string): Promise<string> {
    if (!(await this.has(id))) await this.fetch(id, signal === undefined ? {} : { signal })
    const utf8 = new TextDecoder()
    let text = ''
    const att = key === undefined ? { id } : { id, key }
    for await (const bytes of this.open(att)) text += utf8.decode(bytes, { stream: true })
    return text + utf8.decode()
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

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
