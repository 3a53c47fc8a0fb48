/**
 * Named errors of the history layer (libp2p style: `static name` plus `this.name`). Callers and tests
 * branch on `err.name`, never on message text.
 */

/** Bytes that are not a well-formed, version 1 entry (see docs/architecture.md). */
export class MalformedEntryError extends Error {
  static override name = 'MalformedEntryError'
  constructor(message = 'Malformed entry', options?: ErrorOptions) {
    super(message, options)
    this.name = 'MalformedEntryError'
  }
}

/** Bytes that are not a well-formed sync frame, or a frame that breaks a size or count bound. */
export class MalformedFrameError extends Error {
  static override name = 'MalformedFrameError'
  constructor(message = 'Malformed frame', options?: ErrorOptions) {
    super(message, options)
    this.name = 'MalformedFrameError'
  }
}

/** Why a chain failed to verify (see {@link BrokenChainError}). */
export type BrokenChainReason =
  | 'hash' // bytes do not hash to the expected hash
  | 'malformed' // bytes hash correctly but do not decode: the author signed garbage
  | 'room' // entry belongs to another room
  | 'author' // entry claims another author
  | 'seq' // seq is not the expected one, or the chain runs past seq 1
  | 'fork' // the author signed two different entries for one seq

/**
 * A chain of entries does not verify against its trusted head. `index` is the position in the input list
 * of the first entry that failed: the entries before it did verify.
 */
export class BrokenChainError extends Error {
  static override name = 'BrokenChainError'
  readonly reason: BrokenChainReason
  readonly index: number
  constructor(reason: BrokenChainReason, index: number, message?: string, options?: ErrorOptions) {
    super(message ?? `Broken chain (${reason})`, options)
    this.name = 'BrokenChainError'
    this.reason = reason
    this.index = index
  }
}

/**
 * Pushed entries verify against their signed head but do not reach the receiver's chain: entries
 * `have + 1 .. from - 1` are missing. Not misbehaviour: ask the sender for them (`Pull`).
 */
export class ChainGapError extends Error {
  static override name = 'ChainGapError'
  readonly have: number
  readonly from: number
  constructor(have: number, from: number, options?: ErrorOptions) {
    super(`Chain gap: have ${have}, entries start at ${from}`, options)
    this.name = 'ChainGapError'
    this.have = have
    this.from = from
  }
}

/** A signed head (or presence record) whose signature does not verify. */
export class InvalidSignatureError extends Error {
  static override name = 'InvalidSignatureError'
  constructor(message = 'Invalid signature', options?: ErrorOptions) {
    super(message, options)
    this.name = 'InvalidSignatureError'
  }
}

/** A string that is not the 43-character base64url form of a 32-byte author key. */
export class InvalidAuthorIdError extends Error {
  static override name = 'InvalidAuthorIdError'
  constructor(message = 'Invalid author id', options?: ErrorOptions) {
    super(message, options)
    this.name = 'InvalidAuthorIdError'
  }
}

/** Why a Yjs update was refused (see {@link InvalidUpdateError}). */
export type InvalidUpdateReason =
  | 'size' // larger than MAX_UPDATE_BYTES
  | 'context' // the author context does not fit the document (room, period, ids out of range)
  | 'malformed' // not a well-formed Yjs v1 update, or trailing bytes
  | 'empty' // no structs
  | 'client' // a struct or deletion of another Yjs client than the author's
  | 'struct' // a GC or Skip struct, a right origin, a nested type, a non-contiguous clock
  | 'content' // content other than exactly one plain JSON value
  | 'gap' // starts after the author's clock in the document: retry once the missing updates applied
  | 'duplicate' // already applied
  | 'overlap' // starts inside what is already applied but runs past it
  | 'origin' // refers to an item that is not the author's or not in the document
  | 'root' // writes outside the top-level maps this document allows
  | 'record' // a value that is not a valid record of this author, entry, room and period
  | 'delete' // deletes something other than the author's own entries this update overwrites

/**
 * A Yjs update that must not touch the document, which is left unchanged. `gap` is not misbehaviour:
 * keep the entry and apply it again when the author's earlier updates are in.
 */
export class InvalidUpdateError extends Error {
  static override name = 'InvalidUpdateError'
  readonly reason: InvalidUpdateReason
  constructor(reason: InvalidUpdateReason, message?: string, options?: ErrorOptions) {
    super(message ?? `Invalid update (${reason})`, options)
    this.name = 'InvalidUpdateError'
    this.reason = reason
  }
}

/** A stored document snapshot that does not load: rebuild the document from its entries. */
export class CorruptSnapshotError extends Error {
  static override name = 'CorruptSnapshotError'
  constructor(message = 'Corrupt snapshot', options?: ErrorOptions) {
    super(message, options)
    this.name = 'CorruptSnapshotError'
  }
}

/** A local write that would produce an invalid record (text too long, someone else's message, …). */
export class InvalidRecordError extends Error {
  static override name = 'InvalidRecordError'
  constructor(message = 'Invalid record', options?: ErrorOptions) {
    super(message, options)
    this.name = 'InvalidRecordError'
  }
}

/** Bytes that are not a well-formed org record (certificate, invitation, revocation, …). */
export class MalformedOrgRecordError extends Error {
  static override name = 'MalformedOrgRecordError'
  constructor(message = 'Malformed org record', options?: ErrorOptions) {
    super(message, options)
    this.name = 'MalformedOrgRecordError'
  }
}

/** A string that is not a well-formed, correctly signed invite code. */
export class InvalidInviteCodeError extends Error {
  static override name = 'InvalidInviteCodeError'
  constructor(message = 'Invalid invite code', options?: ErrorOptions) {
    super(message, options)
    this.name = 'InvalidInviteCodeError'
  }
}

/** Bytes that are not a well-formed admission proof. */
export class MalformedProofError extends Error {
  static override name = 'MalformedProofError'
  constructor(message = 'Malformed admission proof', options?: ErrorOptions) {
    super(message, options)
    this.name = 'MalformedProofError'
  }
}

/** Bytes that claim to be a sealed update or a room key record but do not decode as one. */
export class MalformedEnvelopeError extends Error {
  static override name = 'MalformedEnvelopeError'
  constructor(message = 'Malformed envelope', options?: ErrorOptions) {
    super(message, options)
    this.name = 'MalformedEnvelopeError'
  }
}

/**
 * A sealed update (or a record's key history) does not open under the key its epoch names: the
 * ciphertext, its epoch, or the entry it claims to belong to was changed, or the key is not that epoch's.
 */
export class DecryptionError extends Error {
  static override name = 'DecryptionError'
  constructor(message = 'Ciphertext does not open under its epoch key', options?: ErrorOptions) {
    super(message, options)
    this.name = 'DecryptionError'
  }
}
