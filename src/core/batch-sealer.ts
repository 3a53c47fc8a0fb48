/**
 * The encryption side of one batch of local writes in an encrypted room (src/crdt/e2ee.ts): which
 * epoch the batch's entries are sealed under, the key records it writes (members ops, and the record
 * that closes a batch which had to start an epoch because a member left), and the keys it made, held
 * once the batch is stored.
 */
import { ZERO_HASH, equalBytes, type Entry } from '../crdt/entry.ts'
import { encodeKeyRecord, type EntryId, type RemovalCut } from '../crdt/e2ee.ts'
import type { ChainTip } from '../crdt/chain.ts'
import { NotRoomMemberError, newEpoch, sealUpdate, type RoomKeys } from './room-keys.ts'

type Epoch = { epoch: Uint8Array; key: Uint8Array }

export class BatchSealer {
  readonly #keys: RoomKeys
  readonly #me: Uint8Array
  readonly #headOf: (key: Uint8Array) => ChainTip | undefined
  /** Epochs started in this batch. */
  readonly #made: Epoch[] = []
  #sealing: Epoch | undefined
  /** Started because the members changed since the last epoch: its record closes the batch. */
  #rotation: { recipients: Uint8Array[]; history: Map<string, Uint8Array> } | undefined
  #left = false

  /** `headOf`: the chain head this peer holds of an author in the room (a removal's cut). */
  constructor(
    keys: RoomKeys,
    me: Uint8Array,
    headOf: (key: Uint8Array) => ChainTip | undefined = () => undefined,
  ) {
    this.#keys = keys
    this.#me = me
    this.#headOf = headOf
  }

  #record(
    recipients: readonly Uint8Array[],
    e: Epoch | undefined,
    history: Map<string, Uint8Array>,
  ) {
    const epoch = e === undefined ? {} : { epoch: { ...e, history } }
    // the members it leaves out (not us) stop where we hold their chains: the removal's cut
    const cut: RemovalCut[] = this.#keys
      .recordMembers()
      .filter((k) => !equalBytes(k, this.#me) && !recipients.some((r) => equalBytes(r, k)))
      .map((key) => {
        const tip = this.#headOf(key) ?? { seq: 0, hash: ZERO_HASH }
        return { key, seq: tip.seq, hash: tip.hash }
      })
    return encodeKeyRecord({ room: this.#keys.room, issuer: this.#me, recipients, cut, ...epoch })
  }

  /** The key record of a members op. */
  members(op: { members: readonly Uint8Array[]; rotate: boolean }): Uint8Array {
    if (!this.#keys.encrypted) throw new RangeError(`${this.#keys.room} is not an encrypted room`)
    if (this.#left) throw new NotRoomMemberError()
    const members = this.#keys.recipientsFor(op.members)
    const e = op.rotate ? newEpoch() : undefined
    if (e !== undefined) this.#made.push(e)
    const update = this.#record(members, e, this.#keys.held())
    if (members.some((m) => equalBytes(m, this.#me))) this.#sealing = e ?? this.#sealing
    else this.#left = true
    return update
  }

  /**
   * Before a document op: decides the epoch (throws if this device may not write). `genesis`: the
   * members the op names when it creates the room.
   */
  prepare(genesis: Uint8Array[] | undefined): void {
    if (!this.#keys.encrypted) return
    if (this.#left) throw new NotRoomMemberError()
    if (this.#sealing !== undefined) return
    const plan = this.#keys.plan(genesis)
    if ('rotate' in plan) {
      this.#rotation = { recipients: plan.rotate, history: plan.history }
      this.#sealing = newEpoch()
      this.#made.push(this.#sealing)
    } else this.#sealing = plan
  }

  /** A document op's update as its entry carries it. */
  seal(id: EntryId, update: Uint8Array): Uint8Array {
    if (!this.#keys.encrypted) return update
    const { epoch, key } = this.#sealing!
    return sealUpdate(epoch, key, id, update)
  }

  /** The record of an epoch this batch started on its own, to close the batch with. */
  closing(): Uint8Array | undefined {
    const r = this.#rotation
    return r === undefined ? undefined : this.#record(r.recipients, this.#sealing, r.history)
  }

  /** The batch is stored: hold its keys, take its records. */
  async commit(entries: readonly Entry[]): Promise<void> {
    if (!this.#keys.encrypted) return
    for (const e of this.#made) this.#keys.hold(e.epoch, e.key)
    await this.#keys.add(entries)
  }
}
