import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import {
  KEYS_TAG,
  decodeKeyRecord,
  encodeKeyRecord,
  newEpoch,
  openHistory,
  openUpdate,
  openWrap,
  sealUpdate,
  updateKind,
  epochHex,
} from '../../src/crdt/e2ee.ts'
import { dmRoomId, isEncryptedRoom, mayFound, privateRoomId } from '../../src/crdt/room-ids.ts'
import { authorId } from '../../src/crdt/entry.ts'
import { createNobleSigner } from '../../src/crdt/crypto.ts'
import { createNodeSigner } from '../../src/node/crypto-node.ts'

const seed = (): Uint8Array => new Uint8Array(randomBytes(32))

describe('e2ee formats', () => {
  const id = { room: 'p.x', author: new Uint8Array(32).fill(7), seq: 3, period: 20_000 }

  it('[E2EEF1] a sealed update opens only as the entry it was sealed for', () => {
    const { epoch, key } = newEpoch()
    const plain = new TextEncoder().encode('yjs bytes')
    const sealed = sealUpdate(epoch, key, id, plain)
    expect(updateKind(sealed)).toBe('sealed')
    expect(openUpdate(key, id, sealed)).toEqual(plain)
    for (const other of [
      { ...id, seq: 4 },
      { ...id, room: 'p.y' },
      { ...id, period: 1 },
    ]) {
      expect(() => openUpdate(key, other, sealed)).toThrow(
        expect.objectContaining({ name: 'DecryptionError' }),
      )
    }
    const wrongEpoch = sealed.slice()
    wrongEpoch[1]! ^= 1
    expect(() => openUpdate(key, id, wrongEpoch)).toThrow(
      expect.objectContaining({ name: 'DecryptionError' }),
    )
    expect(() => openUpdate(newEpoch().key, id, sealed)).toThrow(
      expect.objectContaining({ name: 'DecryptionError' }),
    )
  })

  it('[E2EEF2] a key record wraps the epoch key for each recipient, on noble and node signers alike, and passes history on', async () => {
    const a = createNobleSigner(seed())
    const b = createNodeSigner(seed())
    const outsider = createNodeSigner(seed())
    const old = newEpoch()
    const e = newEpoch()
    const room = privateRoomId(a.publicKey)
    const bytes = encodeKeyRecord({
      room,
      issuer: a.publicKey,
      recipients: [b.publicKey, a.publicKey, b.publicKey],
      epoch: { ...e, history: new Map([[epochHex(old.epoch), old.key]]) },
    })
    expect(bytes[0]).toBe(KEYS_TAG)
    const record = decodeKeyRecord(bytes)
    expect(record.recipients).toHaveLength(2)
    for (const s of [a, b]) {
      const key = await openWrap(room, a.publicKey, record, s.publicKey, s.agree!.bind(s))
      expect(key).toEqual(e.key)
    }
    const none = await openWrap(room, a.publicKey, record, outsider.publicKey, outsider.agree!)
    expect(none).toBeUndefined()
    // a wrap is bound to its room and issuer
    expect(await openWrap('p.other', a.publicKey, record, b.publicKey, b.agree!)).toBeUndefined()
    expect(await openWrap(room, b.publicKey, record, b.publicKey, b.agree!)).toBeUndefined()
    expect(openHistory(room, record, e.key)).toEqual(new Map([[epochHex(old.epoch), old.key]]))
    expect(() => openHistory(room, record, old.key)).toThrow(
      expect.objectContaining({ name: 'DecryptionError' }),
    )
    // a record without a key: membership only
    const leave = decodeKeyRecord(
      encodeKeyRecord({ room, issuer: b.publicKey, recipients: [a.publicKey] }),
    )
    expect(leave.keyed).toBeUndefined()
  })

  it('[E2EEF3] malformed key records are refused with MalformedEnvelopeError', () => {
    const a = createNobleSigner(seed())
    const good = encodeKeyRecord({
      room: 'p.x',
      issuer: a.publicKey,
      recipients: [a.publicKey],
      epoch: { ...newEpoch(), history: new Map() },
    })
    const bad = [
      good.subarray(0, good.length - 1),
      new Uint8Array([...good, 0]),
      new Uint8Array([KEYS_TAG, 2, 0]),
      new Uint8Array([KEYS_TAG, 0, 0xff, 0xff, 0x03]),
      // two recipients out of order
      new Uint8Array([
        KEYS_TAG,
        0,
        2,
        ...new Uint8Array(32).fill(2),
        ...new Uint8Array(32).fill(1),
      ]),
    ]
    for (const b of bad)
      expect(() => decodeKeyRecord(b)).toThrow(
        expect.objectContaining({ name: 'MalformedEnvelopeError' }),
      )
  })

  it('[E2EEF4] room ids: which rooms are encrypted, and who may start their keys', () => {
    const a = createNobleSigner(seed()).publicKey
    const b = createNobleSigner(seed()).publicKey
    const c = createNobleSigner(seed()).publicKey
    const p = privateRoomId(a)
    expect(isEncryptedRoom(p)).toBe(true)
    expect(isEncryptedRoom('general')).toBe(false)
    expect(mayFound(p, a, [a, b])).toBe(true)
    expect(mayFound(p, b, [a, b])).toBe(false)
    expect(mayFound(p, a, [b])).toBe(false)
    const dm = dmRoomId(authorId(a), authorId(b))
    expect(dm).toBe(dmRoomId(authorId(b), authorId(a)))
    expect(isEncryptedRoom(dm)).toBe(true)
    const sorted = [a, b].sort((x, y) => (authorId(x) < authorId(y) ? -1 : 1))
    expect(mayFound(dm, b, sorted)).toBe(true)
    expect(mayFound(dm, c, [a, c])).toBe(false)
    expect(mayFound(dm, a, [a, c])).toBe(false)
  })
})
