/** Encrypted-room surfaces: room key records and sealed updates inside entries (src/crdt/e2ee.ts). */
import * as encoding from 'lib0/encoding'
import {
  decodeKeyRecord,
  encodeKeyRecord,
  epochHex,
  newEpoch,
  openHistory,
  openUpdate,
  openWrap,
  sealUpdate,
  type EntryId,
  type KeyRecord,
} from '../../../src/crdt/e2ee.ts'
import { equalBytes } from '../../../src/crdt/entry.ts'
import { InvariantError, type Surface } from '../engine.ts'
import { withSeededRandom, type World } from '../fixtures.ts'

const ROOM = 'p.0123456789abcdef0123456789abcdef01234567.0123456789ab'

/** The bytes of a decoded key record, written back field by field (the layout in e2ee.ts). */
function reencode(r: KeyRecord): Uint8Array {
  const enc = encoding.createEncoder()
  encoding.writeUint8(enc, 0xe2)
  encoding.writeUint8(enc, (r.keyed === undefined ? 0 : 1) | (r.cut === undefined ? 0 : 2))
  encoding.writeVarUint(enc, r.recipients.length)
  for (const k of r.recipients) encoding.writeUint8Array(enc, k)
  if (r.cut !== undefined) {
    encoding.writeVarUint(enc, r.cut.length)
    for (const c of r.cut) {
      encoding.writeUint8Array(enc, c.key)
      encoding.writeVarUint(enc, c.seq)
      encoding.writeUint8Array(enc, c.hash)
    }
  }
  if (r.keyed !== undefined) {
    encoding.writeUint8Array(enc, r.keyed.epoch)
    for (const wrap of r.keyed.wraps) encoding.writeUint8Array(enc, wrap)
    encoding.writeUint8Array(enc, r.keyed.nonce)
    encoding.writeVarUint8Array(enc, r.keyed.history)
  }
  return encoding.toUint8Array(enc)
}

export async function keyRecordSurface(w: World): Promise<Surface> {
  const alice = w.alice.signer
  const bob = w.bob.signer
  const seeds = await withSeededRandom(7, () => {
    const older = newEpoch()
    const e = newEpoch()
    const history = new Map([[epochHex(older.epoch), older.key]])
    return Promise.resolve([
      encodeKeyRecord({
        room: ROOM,
        issuer: alice.publicKey,
        recipients: [alice.publicKey, bob.publicKey],
        epoch: { ...e, history },
      }),
      encodeKeyRecord({ room: ROOM, issuer: alice.publicKey, recipients: [bob.publicKey] }),
      // a removal with its cut (alice's head as bob held it)
      encodeKeyRecord({
        room: ROOM,
        issuer: bob.publicKey,
        recipients: [bob.publicKey],
        cut: [{ key: alice.publicKey, seq: 300, hash: new Uint8Array(32).fill(7) }],
        epoch: { ...e, history },
      }),
    ])
  })
  // X25519 is the slow step and depends on the ephemeral key alone, which most mutations keep:
  // remembered per key (HKDF and the AEAD still run on every input)
  const agreed = new Map<string, Uint8Array>()
  const agree = async (eph: Uint8Array): Promise<Uint8Array> => {
    const k = epochHex(eph)
    let shared = agreed.get(k)
    if (shared === undefined) {
      shared = await bob.agree!(eph)
      if (agreed.size < 10_000) agreed.set(k, shared)
    }
    return shared
  }
  return {
    name: 'key-record',
    description:
      'decodeKeyRecord (removal cuts too), then openWrap (X25519 + HKDF + XChaCha20-Poly1305) and openHistory as a recipient would (src/crdt/e2ee.ts): key records in encrypted rooms',
    allowed: ['MalformedEnvelopeError', 'DecryptionError'],
    seeds,
    async run(input) {
      const r = decodeKeyRecord(input)
      if (!equalBytes(reencode(r), input)) throw new InvariantError('re-encodes differently')
      const key = await openWrap(ROOM, alice.publicKey, r, bob.publicKey, agree)
      if (key === undefined) return 'no-key'
      openHistory(ROOM, r, key)
      return 'opened'
    },
  }
}

export async function sealedSurface(w: World): Promise<Surface> {
  const id: EntryId = { room: ROOM, author: w.alice.signer.publicKey, seq: 4, period: 20_417 }
  const { epoch, key } = await withSeededRandom(8, () => Promise.resolve(newEpoch()))
  const seeds = await withSeededRandom(9, () =>
    Promise.resolve([
      sealUpdate(epoch, key, id, w.next[0]!.update),
      sealUpdate(epoch, key, id, new Uint8Array(1)),
    ]),
  )
  return {
    name: 'sealed-update',
    description:
      'openUpdate (src/crdt/e2ee.ts): the sealed Yjs update of an entry in an encrypted room, opened with its epoch key',
    allowed: ['MalformedEnvelopeError', 'DecryptionError'],
    seeds,
    run(input) {
      openUpdate(key, id, input)
      return 'opened'
    },
  }
}
