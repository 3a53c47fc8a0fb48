/**
 * The keys of one encrypted room on this peer (src/crdt/e2ee.ts has the formats): the room's key
 * records, which of them count, the membership they define, and the epoch keys this device could
 * open. A peer that is not a member holds the records too (they are ordinary signed entries) and
 * reaches the same verdicts; it just opens no key.
 *
 * Which records count, the same on every peer: records in order of `(clock, author, seq)`; the first
 * one counts if {@link mayFound} allows it (the creator the room id names; in a dm, the two members
 * the id names), every later one if its author is a member by the records before it (in a dm: only
 * {@link mayFound} records). The members are the recipients of the last record that counts. A sealed
 * entry opens only under an epoch started by a record that counts, and only if its author is one of
 * that epoch's recipients.
 */
import { createLogger } from '../net/logger.ts'
import { META_PERIOD, authorId, decodeEntry, type Entry } from '../crdt/entry.ts'
import type { DeviceSigner } from '../crdt/crypto.ts'
import { compareHlc } from '../crdt/hlc.ts'
import {
  DM_PREFIX,
  decodeKeyRecord,
  epochHex,
  isEncryptedRoom,
  mayFound,
  newEpoch,
  openHistory,
  openUpdate,
  openWrap,
  sealUpdate,
  sealedEpoch,
  updateKind,
  type EntryId,
  type KeyRecord,
} from '../crdt/e2ee.ts'
import { hex, type HistoryStore } from './store.ts'

const log = createLogger('parley:core:keys')

/** This device is not a member of the encrypted room it tried to write to (or the author of an entry was not). */
export class NotRoomMemberError extends Error {
  static override readonly name = 'NotRoomMemberError'
  constructor(message = 'Not a member of this private room') {
    super(message)
    this.name = 'NotRoomMemberError'
  }
}

/** This device holds no key for the encrypted room yet (it was added, but the key has not arrived). */
export class RoomKeyMissingError extends Error {
  static override readonly name = 'RoomKeyMissingError'
  constructor(room: string) {
    super(`No key for ${room} on this device yet: wait for a member to sync it`)
    this.name = 'RoomKeyMissingError'
  }
}

/** A plain (unsealed) update in an encrypted room: never applied. */
export class PlaintextInEncryptedRoomError extends Error {
  static override readonly name = 'PlaintextInEncryptedRoomError'
  constructor() {
    super('Unencrypted update in an encrypted room')
    this.name = 'PlaintextInEncryptedRoomError'
  }
}

interface RecordAt {
  author: Uint8Array
  seq: number
  wall: number
  count: number
  record: KeyRecord
  /** `hex(author):seq`. */
  id: string
}

interface Resolved {
  /** hex author keys; undefined before the first record that counts. */
  members: Set<string> | undefined
  /** Epochs started by records that count: epoch hex → its recipients (hex) and record. */
  epochs: Map<string, { recipients: Set<string>; at: RecordAt }>
  /** The newest epoch. */
  current: string | undefined
}

/** What a write seals under: a held epoch, or a new one for these members (a rotation). */
export type WritePlan =
  | { epoch: Uint8Array; key: Uint8Array }
  | { rotate: Uint8Array[]; history: Map<string, Uint8Array> }

const sameSet = (a: Set<string>, b: Set<string>): boolean =>
  a.size === b.size && [...a].every((x) => b.has(x))

export class RoomKeys {
  readonly room: string
  /** Whether the room is encrypted at all (by its id). */
  readonly encrypted: boolean
  readonly #signer: DeviceSigner
  readonly #records = new Map<string, RecordAt>()
  readonly #keys = new Map<string, Uint8Array>()
  readonly #triedWrap = new Set<string>()
  readonly #openedHistory = new Set<string>()
  #resolved: Resolved | undefined

  constructor(room: string, signer: DeviceSigner) {
    this.room = room
    this.encrypted = isEncryptedRoom(room)
    this.#signer = signer
  }

  /** Reads the room's records from the store (they are all in the meta period). */
  async load(store: HistoryStore): Promise<void> {
    if (!this.encrypted) return
    const entries: Entry[] = []
    for (const e of await store.periodEntries(this.room, META_PERIOD)) {
      try {
        entries.push(decodeEntry(e.bytes))
      } catch {
        // unreadable stored entries are reported where documents are built
      }
    }
    await this.add(entries)
  }

  /** Whether this device holds any key of the room (documents are worth building). */
  get readable(): boolean {
    return !this.encrypted || this.#keys.size > 0
  }

  /** Takes the key records among verified `entries`; resolves true when locked entries may now open. */
  async add(entries: readonly Entry[]): Promise<boolean> {
    if (!this.encrypted) return false
    let added = false
    for (const e of entries) {
      if (e.period !== META_PERIOD || updateKind(e.update) !== 'keys') continue
      const id = `${hex(e.author)}:${e.seq}`
      if (this.#records.has(id)) continue
      let record: KeyRecord
      try {
        record = decodeKeyRecord(e.update)
      } catch (err) {
        log.error('key record %s in %s unreadable: %e', id.slice(0, 8), this.room, err)
        continue
      }
      const { author, seq, hlc } = e
      this.#records.set(id, { author, seq, wall: hlc.wall, count: hlc.count, record, id })
      added = true
    }
    if (!added) return false
    this.#resolved = undefined
    await this.#learn()
    // new records may also make keys already held count (an epoch whose key came in a history)
    return this.#keys.size > 0
  }

  /** Holds `key` for `epoch` (a key this device just made), unless another key holds the id. */
  hold(epoch: Uint8Array, key: Uint8Array): void {
    const id = epochHex(epoch)
    if (!this.#keys.has(id)) this.#keys.set(id, key)
  }

  #resolve(): Resolved {
    if (this.#resolved !== undefined) return this.#resolved
    const sorted = [...this.#records.values()].sort(
      (a, b) => compareHlc(a, b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || a.seq - b.seq,
    )
    const dm = this.room.startsWith(DM_PREFIX)
    let members: Set<string> | undefined
    const epochs = new Map<string, { recipients: Set<string>; at: RecordAt }>()
    let current: string | undefined
    for (const at of sorted) {
      const { author, record } = at
      const counts =
        members === undefined || dm
          ? mayFound(this.room, author, record.recipients)
          : members.has(hex(author))
      if (!counts) {
        log(
          'key record %s in %s does not count (author not a member)',
          at.id.slice(0, 8),
          this.room,
        )
        continue
      }
      members = new Set(record.recipients.map(hex))
      if (record.keyed !== undefined) {
        const e = epochHex(record.keyed.epoch)
        if (!epochs.has(e)) epochs.set(e, { recipients: members, at })
        current = e
      }
    }
    this.#resolved = { members, epochs, current }
    return this.#resolved
  }

  /** Opens the wraps addressed to us and the key histories of epochs we hold, until nothing new. */
  async #learn(): Promise<boolean> {
    const { epochs } = this.#resolve()
    const me = this.#signer.publicKey
    const agree = this.#signer.agree?.bind(this.#signer)
    let learned = false
    for (const [e, { at }] of epochs) {
      if (this.#keys.has(e) || this.#triedWrap.has(at.id) || agree === undefined) continue
      this.#triedWrap.add(at.id)
      const key = await openWrap(this.room, at.author, at.record, me, agree)
      if (key !== undefined) {
        this.#keys.set(e, key)
        learned = true
      } else if (at.record.recipients.some((r) => hex(r) === hex(me))) {
        log.error('key wrapped for us in %s by %s does not open', this.room, at.id.slice(0, 8))
      }
    }
    for (let progress = true; progress;) {
      progress = false
      for (const [e, { at }] of epochs) {
        const key = this.#keys.get(e)
        if (key === undefined || this.#openedHistory.has(at.id)) continue
        this.#openedHistory.add(at.id)
        try {
          for (const [older, k] of openHistory(this.room, at.record, key)) {
            if (this.#keys.has(older)) continue
            this.#keys.set(older, k)
            learned = progress = true
          }
        } catch (err) {
          log.error('key history of %s in %s: %e', at.id.slice(0, 8), this.room, err)
        }
      }
    }
    return learned
  }

  /** The members (author ids), once a record that counts is in; undefined before. */
  members(): string[] | undefined {
    const m = this.#resolve().members
    if (m === undefined) return undefined
    const byHex = new Map<string, string>()
    for (const r of this.#records.values())
      for (const k of r.record.recipients) byHex.set(hex(k), authorId(k))
    return [...m].map((h) => byHex.get(h)!).sort()
  }

  /** The member keys (for a new record), once a record that counts is in. */
  memberKeys(): Uint8Array[] | undefined {
    const m = this.#resolve().members
    if (m === undefined) return undefined
    const out = new Map<string, Uint8Array>()
    for (const r of this.#records.values())
      for (const k of r.record.recipients) if (m.has(hex(k))) out.set(hex(k), k)
    return [...out.values()]
  }

  /** Every epoch key held (epoch hex → key): passed on to members a new record adds. */
  held(): Map<string, Uint8Array> {
    return new Map(this.#keys)
  }

  /**
   * What this device's next sealed entry uses. `genesis`: the members of a room being created here
   * (used only while no record counts). Throws {@link NotRoomMemberError} or {@link RoomKeyMissingError}.
   */
  plan(genesis: Uint8Array[] | undefined): WritePlan {
    const { members, epochs, current } = this.#resolve()
    const me = hex(this.#signer.publicKey)
    if (members === undefined) {
      if (genesis === undefined) throw new RoomKeyMissingError(this.room)
      if (!mayFound(this.room, this.#signer.publicKey, genesis)) throw new NotRoomMemberError()
      return { rotate: genesis, history: new Map() }
    }
    if (!members.has(me)) throw new NotRoomMemberError()
    const epoch = current === undefined ? undefined : epochs.get(current)
    const key = current === undefined ? undefined : this.#keys.get(current)
    if (epoch === undefined || key === undefined || !sameSet(epoch.recipients, members)) {
      // a member left (or was removed) since the last epoch: start one it does not get
      return { rotate: this.memberKeys()!, history: this.held() }
    }
    return { epoch: epoch.at.record.keyed!.epoch, key }
  }

  /**
   * The Yjs update a stored entry carries, for applying: the update itself in a plain room,
   * `'skip'` for a key record, `'locked'` while its epoch's key is not held here. Throws for an
   * entry that must not be applied: plaintext in an encrypted room, an author outside the epoch's
   * recipients ({@link NotRoomMemberError}), ciphertext that does not open (`DecryptionError`).
   */
  open(entry: Entry): Uint8Array | 'skip' | 'locked' {
    if (!this.encrypted) return entry.update
    const kind = updateKind(entry.update)
    if (kind === 'keys') return 'skip'
    if (kind === 'plain') throw new PlaintextInEncryptedRoomError()
    const e = epochHex(sealedEpoch(entry.update))
    const epoch = this.#resolve().epochs.get(e)
    const key = this.#keys.get(e)
    if (epoch === undefined || key === undefined) return 'locked'
    if (!epoch.recipients.has(hex(entry.author)))
      throw new NotRoomMemberError('Entry sealed by an author outside its epoch')
    return openUpdate(key, entryId(entry), entry.update)
  }
}

/** The identity a sealed update is bound to. */
export function entryId(e: Pick<Entry, 'room' | 'author' | 'seq' | 'period'>): EntryId {
  return { room: e.room, author: e.author, seq: e.seq, period: e.period }
}

export { newEpoch, sealUpdate }
