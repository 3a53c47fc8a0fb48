/**
 * Shared files in the signed-in app: every upload and download with its progress, attaching picked,
 * dropped or pasted files (thumbnail made here first), downloads, and object URLs of files held
 * here for `<img>` and download links (revoked on destroy).
 */
import type { Attachment, TransferView, Unsubscribe } from '../../core/index.ts'
import { describeTransferError } from '../../core/index.ts'
import type { ParleyClient } from '../../core/client.ts'
import { makeThumbnail } from '../lib/thumbnail.ts'

export class FilesState {
  transfers = $state.raw<readonly TransferView[]>([])
  readonly #client: ParleyClient
  // Not reactive on purpose: a cache of promises, never read by a template.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #urls = new Map<string, Promise<string>>()
  readonly #off: Unsubscribe

  constructor(client: ParleyClient) {
    this.#client = client
    this.#off = client.files.onChange(() => (this.transfers = client.files.transfers()))
  }

  /** Uploads (newest last) that are running or have something to say. */
  get uploads(): TransferView[] {
    return this.transfers.filter((t) => t.direction === 'up')
  }

  /** The download of file `id`, if one ran this session. */
  download(id: string): TransferView | undefined {
    return this.transfers.find((t) => t.key === id)
  }

  /** Shares each file in `room` (one message per file); failures show on their transfer. */
  attach(room: string, files: readonly File[]): void {
    for (const file of files) void this.#attach(room, file)
  }

  async #attach(room: string, file: File): Promise<void> {
    const thumb = await makeThumbnail(file)
    await this.#client.files
      .attach(room, file, thumb === undefined ? {} : { thumb })
      .catch(() => undefined) // the transfer's state and error say what happened
  }

  cancel(key: string): void {
    this.#client.files.cancel(key)
  }

  dismiss(key: string): void {
    this.#client.files.dismiss(key)
  }

  /** An object URL of the file (fetched from peers first when needed); one per file. */
  url(att: Attachment): Promise<string> {
    let url = this.#urls.get(att.id)
    if (url === undefined) {
      url = this.#client.files.blob(att).then((b) => URL.createObjectURL(b))
      this.#urls.set(att.id, url)
      url.catch(() => this.#urls.delete(att.id))
    }
    return url
  }

  /** Fetches the file if needed and saves it under its name (the browser's download). */
  async save(att: Attachment): Promise<void> {
    const url = await this.url(att)
    const a = document.createElement('a')
    a.href = url
    a.download = att.name
    a.click()
  }

  /** The whole text of a long message (a sealed one's with its key). */
  readText(file: Pick<Attachment, 'id' | 'key'>): Promise<string> {
    return this.#client.files.readText(file.id, undefined, file.key)
  }

  /** The words to show for an error thrown by a transfer or a save. */
  describe(err: unknown): string {
    return err instanceof Error ? describeTransferError(err) : String(err)
  }

  /** The words to show for a transfer's error. */
  errorOf(t: TransferView): string | undefined {
    return t.error === undefined ? undefined : describeTransferError(t.error)
  }

  destroy(): void {
    this.#off()
    for (const url of this.#urls.values())
      void url.then(
        (u) => URL.revokeObjectURL(u),
        () => undefined,
      )
  }
}
