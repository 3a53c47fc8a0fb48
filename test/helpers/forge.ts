/**
 * Building history the way an attacker would: entries whose Yjs updates are valid (so that only
 * the forged part can be the reason a peer refuses them), chained and signed, or not, on demand.
 */
import { randomBytes } from 'node:crypto'
import { createIdentity } from '../../src/core/identity.ts'
import type { DeviceSigner } from '../../src/crdt/crypto.ts'
import {
  ZERO_HASH,
  encodeEntry,
  headMessage,
  periodOf,
  type SignedHead,
} from '../../src/crdt/entry.ts'
import { PeriodDoc } from '../../src/crdt/period-doc.ts'
import { encodeFrame } from '../../src/crdt/wire.ts'
import { createNodeSigner, nodeCrypto } from '../../src/node/crypto-node.ts'

export interface ForgedChain {
  room: string
  period: number
  /** Encoded entries, oldest first. */
  entries: Uint8Array[]
  hashes: Uint8Array[]
  head: SignedHead
  texts: string[]
}

export interface ForgeInit {
  room: string
  /** Signs the head. */
  signer: DeviceSigner
  /** The author the entries and head claim. @default the signer's key */
  author?: Uint8Array
  /** The chain so far (seq 0: a new chain), and the period document it is continued from. */
  base?: { seq: number; hash: Uint8Array; snapshot?: Uint8Array }
  texts: readonly string[]
  /** Give the entry at this index a `prev` that links to nothing (later entries link to it). */
  badPrevAt?: number
}

export const newSigner = (): DeviceSigner => createNodeSigner(new Uint8Array(randomBytes(32)))

/** Posts `texts` as a chain of entries with a signed head, forged as `init` says. */
export async function forgeChain(init: ForgeInit): Promise<ForgedChain> {
  const author = init.author ?? init.signer.publicKey
  const identity = createIdentity(init.signer, nodeCrypto)
  const wall = Date.now()
  const period = periodOf(wall)
  const snapshot = init.base?.snapshot
  const doc =
    snapshot === undefined
      ? new PeriodDoc(init.room, period)
      : PeriodDoc.fromSnapshot(init.room, period, snapshot)
  let seq = init.base?.seq ?? 0
  let prev = init.base?.hash ?? ZERO_HASH
  const entries: Uint8Array[] = []
  const hashes: Uint8Array[] = []
  for (const [i, text] of init.texts.entries()) {
    seq += 1
    const hlc = { wall, count: i + 1 }
    const ctx = identity.ctxFor(author, seq, init.room, period)
    const { update } = doc.post(ctx, text, hlc)
    if (i === init.badPrevAt) prev = new Uint8Array(randomBytes(32))
    const bytes = encodeEntry({ room: init.room, author, seq, prev, hlc, period, update })
    prev = nodeCrypto.sha256(bytes)
    entries.push(bytes)
    hashes.push(prev)
  }
  doc.destroy()
  const sig = await init.signer.sign(headMessage(init.room, seq, prev))
  const head = { room: init.room, author, seq, hash: prev, sig }
  return { room: init.room, period, entries, hashes, head, texts: [...init.texts] }
}

/** The push frame (gossip or push request) carrying `c`, entries as given or in `order`. */
export function pushBytes(c: ForgedChain, entries: readonly Uint8Array[] = c.entries): Uint8Array {
  return encodeFrame({ type: 'push', room: c.room, head: c.head, entries: [...entries] })
}

/** The frames an honest responder would answer a pull with, for chain `c` alone. */
export function pullAnswer(
  c: ForgedChain,
  entries: readonly Uint8Array[] = c.entries,
): Uint8Array[] {
  return [
    encodeFrame({ type: 'heads', room: c.room, heads: [c.head] }),
    encodeFrame({ type: 'entries', room: c.room, period: c.period, entries: [...entries] }),
    encodeFrame({ type: 'end', room: c.room }),
  ]
}

/** `bytes` with one bit flipped at `index` (negative: from the end). */
export function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const out = bytes.slice()
  const at = index < 0 ? out.length + index : index
  out[at] = (out[at] ?? 0) ^ 0x01
  return out
}
