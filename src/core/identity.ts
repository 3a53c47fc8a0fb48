/**
 * This device's author identity (an Ed25519 key pair) and the per-author facts every document
 * needs: author id, Yjs client id.
 */
import type { DeviceSigner, HistoryCrypto } from '../crdt/crypto.ts'
import { authorId } from '../crdt/entry.ts'
import { clientIdOf } from '../crdt/client-id.ts'
import type { UpdateContext } from '../crdt/validate.ts'

export interface Identity {
  readonly signer: DeviceSigner
  readonly crypto: HistoryCrypto
  /** base64url of our public key. */
  readonly authorId: string
  /** Everything validation and local writes need to know about `author` writing `seq` in `room`. */
  ctxFor(author: Uint8Array, seq: number, room: string, period: number): UpdateContext
}

export function createIdentity(signer: DeviceSigner, crypto: HistoryCrypto): Identity {
  const clientIds = new Map<string, { id: string; client: number }>()
  const facts = (author: Uint8Array): { id: string; client: number } => {
    const id = authorId(author)
    let f = clientIds.get(id)
    if (f === undefined) {
      f = { id, client: clientIdOf(author, (d) => crypto.sha256(d)) }
      if (clientIds.size > 10_000) clientIds.clear()
      clientIds.set(id, f)
    }
    return f
  }
  return {
    signer,
    crypto,
    authorId: authorId(signer.publicKey),
    ctxFor(author, seq, room, period) {
      const f = facts(author)
      return { authorKey: author, authorId: f.id, clientId: f.client, seq, room, period }
    },
  }
}
