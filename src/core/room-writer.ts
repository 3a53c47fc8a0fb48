/**
 * This device's writes in rooms: a room created on first use (its meta entry), posts, shared files,
 * and sealed files offered to the connected peers until one keeps them.
 */
import { createLogger } from '../net/logger.ts'
import type { ChatMessage, RoomMeta, Attachment } from '../crdt/schema.ts'
import { isEncryptedRoom } from '../crdt/room-ids.ts'
import type { RoomHistory } from './room-history.ts'
import { UnsealedFileError, type FileService } from './files/index.ts'

const log = createLogger('parley:core:messenger')

/** How long a sealed file is offered to the connected peers before giving up. */
const SEALED_OFFER_MS = 60_000

export interface Posted {
  room: string
  seq: number
  message: ChatMessage
}

export interface RoomWriterInit {
  /** This device's author key. */
  me: Uint8Array
  /** The room's open history, joined if need be (Messenger.join). */
  join: (room: string) => Promise<RoomHistory>
  files: FileService
  /** This device wrote in `room`: announce its new head soon. */
  wrote: (room: string) => void
}

export class RoomWriter {
  readonly #i: RoomWriterInit
  readonly #ensured = new Map<string, Promise<void>>()
  readonly #offers = new Set<AbortController>()

  constructor(init: RoomWriterInit) {
    this.#i = init
  }

  /**
   * Creates `room` if nobody has (a meta write by this device; the room's kind can only be set by
   * an author's first entry in it), or sets its name and topic. `kind` and `members` (a private
   * room or dm) apply only when this write creates the room.
   */
  async createRoom(
    room: string,
    fields: Partial<Pick<RoomMeta, 'name' | 'topic' | 'kind' | 'members'>> = {},
  ): Promise<void> {
    const { kind = 'public', members, ...texts } = fields
    const h = await this.#i.join(room)
    const mine = h.author(this.#i.me) !== undefined
    const exists = (await h.meta()) !== undefined
    const create =
      exists || mine ? {} : { name: room, kind, ...(members === undefined ? {} : { members }) }
    if (!exists || Object.keys(texts).length > 0)
      await h.write({ kind: 'meta', fields: { ...create, ...texts } })
    this.#i.wrote(room)
  }

  /**
   * Posts `text` in `room` (created on first use). Resolves once stored on this peer. A long text
   * is stored whole as a file and posted as its preview with a 'text' attachment (`files.readText`).
   */
  async post(room: string, text: string): Promise<Posted> {
    const long = await this.#i.files.longText(text, isEncryptedRoom(room))
    return this.#post(room, long?.preview ?? text, long?.file)
  }

  /**
   * Posts a message sharing a file added with `files.add` (`text` is its caption); in an encrypted
   * room the file must have been added sealed (else {@link UnsealedFileError}, nothing posted).
   */
  async share(room: string, file: Attachment, text = ''): Promise<Posted> {
    if (isEncryptedRoom(room) && file.key === undefined) throw new UnsealedFileError(room)
    return this.#post(room, text, file)
  }

  /** Stops offering sealed files. */
  stop(): void {
    for (const ac of this.#offers) ac.abort()
  }

  #ensureRoom(room: string): Promise<void> {
    let p = this.#ensured.get(room)
    if (p === undefined) {
      p = this.#i.join(room).then(async (h) => {
        // an encrypted room is created with its members (encrypted.createPrivateRoom, a dm), never implicitly
        if ((await h.meta()) === undefined && !isEncryptedRoom(room)) await this.createRoom(room)
      })
      this.#ensured.set(room, p)
      p.catch(() => this.#ensured.delete(room))
    }
    return p
  }

  async #post(room: string, text: string, file: Attachment | undefined): Promise<Posted> {
    await this.#ensureRoom(room)
    const h = await this.#i.join(room)
    const message = await h.write({ kind: 'post', text, ...(file === undefined ? {} : { file }) })
    if (file?.key !== undefined) this.#offerSealed(file.id)
    const me = h.author(this.#i.me)!
    return { room, seq: me.head.seq, message: message! }
  }

  /**
   * Always-on peers that are not members cannot read an encrypted room's messages, so they never
   * see its attachments: a sealed file is offered to the connected peers instead (the ciphertext is
   * all they get), until one keeps it or {@link SEALED_OFFER_MS} pass.
   */
  #offerSealed(id: string): void {
    const ac = new AbortController()
    const timer = setTimeout(() => ac.abort(), SEALED_OFFER_MS)
    timer.unref?.()
    this.#offers.add(ac)
    void this.#i.files
      .waitHeld(id, 'manifest', ac.signal)
      .catch((err: unknown) => log('no peer keeps sealed file %s: %e', id, err))
      .finally(() => {
        clearTimeout(timer)
        this.#offers.delete(ac)
      })
  }
}
