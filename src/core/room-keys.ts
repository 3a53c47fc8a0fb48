/**
 * The keys of one encrypted room on this peer (src/crdt/e2ee.ts has the formats): the room's key
 * records, which of them count, the membership they define, and the epoch keys this device could
 * open. A peer that is not a member holds the records too (they are ordinary signed entries) and
 * reaches the same verdicts; it just opens no key.
 *
 * Which records count, and the members and epochs they define: src/core/room-key-records.ts.
 */
import { createLogger } from '../net/logger.ts'
import { META_PERIOD, authorId, decodeEntry, type Entry } from '../crdt/entry.ts'
import type { DeviceSigner } from '../crdt/crypto.ts'
import {
  decodeKeyRecord,
  epochHex,
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
import { isEncryptedRoom, isUserRoom } from '../crdt/room-ids.ts'
import { hex, type HistoryStore } from './store.ts'
import { RemovedBeyondCutError, removalCuts, removalRefusal } from './removal-cut.ts'
import { NotOrgMemberError, type RoomDirectory } from './room-directory.ts'
import {
  isDeviceDm,
  mayFoundIn,
  mayRemoveAt,
  memberWhen,
  resolveRecords,
  sameUser,
  type RecordAt,
  type Resolved,
} from './room-key-records.ts'
import {
  NotRoomRemoverError,
  NotRoomMemberError,
  PlaintextInEncryptedRoomError,
  RoomKeyMissingError,
} from './room-key-errors.ts'

export {
  RemovedBeyondCutError,
  NotRoomRemoverError,
  NotRoomMemberError,
  PlaintextInEncryptedRoomError,
  RoomKeyMissingError,
}

const log = createLogger('parley:core:keys')

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
  readonly #directory: () => RoomDirectory | undefined
  readonly #records = new Map<string, RecordAt>()
  readonly #keys = new Map<string, Uint8Array>()
  readonly #triedWrap = new Set<string>()
  readonly #openedHistory = new Set<string>()
  #resolved: Resolved | undefined

  constructor(
    room: string,
    signer: DeviceSigner,
    directory: () => RoomDirectory | undefined = () => undefined,
  ) {
    this.room = room
    this.encrypted = isEncryptedRoom(room)
    this.#signer = signer
    this.#directory = directory
  }

  /**
   * The org's directory changed: records are judged again (a certificate that arrived late may make
   * one count). Resolves true when locked entries may now open.
   */
  async refresh(): Promise<boolean> {
    if (!this.encrypted || this.#records.size === 0) return false
    const openable = (): string[] =>
      [...this.#resolve().epochs.keys()].filter((e) => this.#keys.has(e))
    const before = new Set(openable())
    this.#resolved = undefined
    await this.#learn()
    return openable().some((e) => !before.has(e))
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
    this.#resolved ??= resolveRecords(this.room, this.#records.values(), this.#directory())
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

  /**
   * The members' keys (hex → key) from the records, without those whose certificate is not valid
   * now (revoked, expired: they wait for the rotation that leaves them out); undefined before the
   * first record that counts.
   */
  #live(): Map<string, Uint8Array> | undefined {
    const { members, keyOf } = this.#resolve()
    if (members === undefined) return undefined
    // a dm of two device keys keeps every key its records name (rooms of users follow the directory)
    const dir = isDeviceDm(this.room) ? undefined : this.#directory()
    const now = dir?.now() ?? 0
    const out = new Map<string, Uint8Array>()
    for (const h of members) {
      const k = keyOf.get(h)!
      if (dir === undefined || dir.validAt(k, now)) out.set(h, k)
    }
    return out
  }

  /** The members (author ids), once a record that counts is in; undefined before. */
  members(): string[] | undefined {
    const live = this.#live()
    return live === undefined ? undefined : [...live.values()].map(authorId).sort()
  }

  /** Every removal cut of the records that count (the last one of each removed author). */
  removalCuts(): { key: Uint8Array; seq: number }[] {
    return this.encrypted ? removalCuts(this.#resolve().timeline) : []
  }

  /** Whether a removal cut refuses `entry` (see src/core/removal-cut.ts). */
  beyondRemoval(entry: Entry): boolean {
    return this.encrypted && removalRefusal(this.#resolve().timeline, entry) !== undefined
  }

  /** Every member by the records (revoked or expired ones too), for a record's removal cut. */
  recordMembers(): Uint8Array[] {
    const { members, keyOf } = this.#resolve()
    return [...(members ?? [])].map((h) => keyOf.get(h)!)
  }

  /** The member keys (for a new record), once a record that counts is in. */
  memberKeys(): Uint8Array[] | undefined {
    const live = this.#live()
    return live === undefined ? undefined : [...live.values()]
  }

  /** Whether this device is a member and the current epoch was given to someone no longer one. */
  due(): boolean {
    const live = this.#live()
    const { epochs, current } = this.#resolve()
    if (live === undefined || !live.has(hex(this.#signer.publicKey))) return false
    const epoch = current === undefined ? undefined : epochs.get(current)
    return epoch === undefined || !sameSet(epoch.recipients, new Set(live.keys()))
  }

  /**
   * The keys a new record of this device may name, of `keys`: with the org's directory, a key
   * whose certificate is not valid now is left out if it is a member already (revoked since) and
   * refused with {@link NotOrgMemberError} if it is not (a key is never wrapped for a non-member).
   */
  recipientsFor(keys: readonly Uint8Array[]): Uint8Array[] {
    const dir = this.#directory()
    if (dir === undefined) return [...keys]
    const now = dir.now()
    const { members } = this.#resolve()
    return keys.filter((k) => {
      if (dir.validAt(k, now)) return true
      if (members?.has(hex(k)) === true) return false
      throw new NotOrgMemberError(`${authorId(k)} holds no valid certificate: no key for it`)
    })
  }

  /**
   * Whether `key` may remove other members now: a device of the user who created the room, or of an
   * org admin (room-key-records.ts; a dm or a room of users has no removals). False before the first
   * record that counts.
   */
  mayRemove(key: Uint8Array): boolean {
    if (isDeviceDm(this.room) || isUserRoom(this.room)) return false
    const { creator } = this.#resolve()
    const dir = this.#directory()
    return creator !== undefined && mayRemoveAt(key, dir?.now() ?? 0, creator, dir)
  }

  /** Whether `key` is this device or another device of our user. */
  isOwnDevice(key: Uint8Array): boolean {
    return sameUser(key, this.#signer.publicKey, this.#directory())
  }

  /** Every epoch key held (epoch hex → key): passed on to members a new record adds. */
  held(): Map<string, Uint8Array> {
    return new Map(this.#keys)
  }

  /**
   * What this device's next sealed entry uses. `genesis`: the members of a room being created here
   * (used only while no record counts). Throws {@link NotRoomMemberError},
   * {@link RoomKeyMissingError} or {@link NotOrgMemberError}.
   */
  plan(genesis: Uint8Array[] | undefined): WritePlan {
    const { epochs, current } = this.#resolve()
    const live = this.#live()
    const me = hex(this.#signer.publicKey)
    if (live === undefined) {
      if (genesis === undefined) throw new RoomKeyMissingError(this.room)
      if (!mayFoundIn(this.room, this.#signer.publicKey, genesis, this.#directory()))
        throw new NotRoomMemberError()
      return { rotate: this.recipientsFor(genesis), history: new Map() }
    }
    if (!live.has(me)) throw new NotRoomMemberError()
    const epoch = current === undefined ? undefined : epochs.get(current)
    const key = current === undefined ? undefined : this.#keys.get(current)
    if (
      epoch === undefined ||
      key === undefined ||
      !sameSet(epoch.recipients, new Set(live.keys()))
    ) {
      // a member left, was removed or revoked since the last epoch: start one it does not get
      return { rotate: [...live.values()], history: this.held() }
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
    const { epochs, timeline } = this.#resolve()
    const epoch = epochs.get(e)
    const key = this.#keys.get(e)
    if (epoch === undefined || key === undefined) return 'locked'
    const author = hex(entry.author)
    if (!epoch.recipients.has(author))
      throw new NotRoomMemberError('Entry sealed by an author outside its epoch')
    // a removed member still holds this epoch's key: its entries beyond the removal's cut are
    // refused whatever their clock (removal-cut.ts), and after the removal by its clock
    const beyond = removalRefusal(timeline, entry)
    if (beyond !== undefined) throw beyond
    if (!memberWhen(timeline, author, entry.hlc))
      throw new NotRoomMemberError('Entry written after its author was removed from the room')
    return openUpdate(key, entryId(entry), entry.update)
  }
}

/** The identity a sealed update is bound to. */
export function entryId(e: Pick<Entry, 'room' | 'author' | 'seq' | 'period'>): EntryId {
  return { room: e.room, author: e.author, seq: e.seq, period: e.period }
}

export { newEpoch, sealUpdate }
