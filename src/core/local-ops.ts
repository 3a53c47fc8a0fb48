/**
 * The changes this device makes to a room, and how each is written into its document.
 */
import type { PeriodDoc } from '../crdt/period-doc.ts'
import { authorFromId } from '../crdt/entry.ts'
import type { Hlc } from '../crdt/hlc.ts'
import type { Attachment, ChatMessage, RoomMeta } from '../crdt/schema.ts'
import type { UpdateContext } from '../crdt/validate.ts'

/** A change this device makes. */
export type LocalOp =
  | { kind: 'post'; text: string; file?: Attachment }
  | { kind: 'edit'; id: string; text: string }
  | { kind: 'remove'; id: string }
  | { kind: 'meta'; fields: Partial<RoomMeta> }
  /** Encrypted rooms: the members from now on, with a new epoch key (`rotate`) or without (leaving). */
  | { kind: 'members'; members: readonly Uint8Array[]; rotate: boolean }

export function applyLocal(
  doc: PeriodDoc,
  ctx: UpdateContext,
  op: LocalOp,
  hlc: Hlc,
): { update: Uint8Array; message?: ChatMessage } {
  switch (op.kind) {
    case 'post':
      return doc.post(ctx, op.text, hlc, op.file)
    case 'edit':
      return doc.edit(ctx, op.id, op.text, hlc)
    case 'remove':
      return doc.remove(ctx, op.id, hlc)
    case 'meta':
      return doc.setMeta(ctx, op.fields, hlc)
    case 'members':
      throw new RangeError('a members op writes no document')
  }
}

/** The members a write that creates an encrypted room names (its first epoch's recipients). */
export function genesisOf(op: LocalOp): Uint8Array[] | undefined {
  if (op.kind !== 'meta' || op.fields.kind === undefined || op.fields.members === undefined)
    return undefined
  return op.fields.members.map(authorFromId)
}
