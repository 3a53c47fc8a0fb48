import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as prng from 'lib0/prng'
import {
  EDITS,
  MAX_TEXT_BYTES,
  MESSAGES,
  META,
  editsOf,
  isAuthorId,
  isChatMessage,
  isEditRecord,
  isMetaValue,
  messageId,
  messagesOf,
  metaKey,
  metaOf,
  metaWrites,
  parseMessageId,
  parseMetaKey,
  resolveMeta,
  type ChatMessage,
} from '../../src/crdt/schema.ts'
import { utf8Length, wellFormed } from '../../src/crdt/guards.ts'
import { MAX_SEQ } from '../../src/crdt/entry.ts'
import { ROOM, at, author } from './period-fixtures.ts'

const alice = author('alice')
const bob = author('bob')
const carol = author('carol')

const message = (over: Partial<ChatMessage> = {}): Record<string, unknown> => ({
  id: messageId(alice.id, 1),
  room: ROOM,
  author: alice.id,
  ...at(1000),
  text: 'hello',
  ...over,
})

describe('schema: names and ids', () => {
  it('[SCH1] accessors are the three top-level maps', () => {
    const doc = new Y.Doc()
    expect(messagesOf(doc)).toBe(doc.share.get(MESSAGES))
    expect(editsOf(doc)).toBe(doc.share.get(EDITS))
    expect(metaOf(doc)).toBe(doc.share.get(META))
    expect(messagesOf(doc)).toBeInstanceOf(Y.Map)
  })

  it('[SCH2] messageId round-trips through parseMessageId', () => {
    expect(messageId(alice.id, 7)).toBe(`${alice.id.slice(0, 12)}.7`)
    expect(parseMessageId(messageId(alice.id, 7))).toEqual({
      prefix: alice.id.slice(0, 12),
      seq: 7,
    })
    expect(parseMessageId(messageId(alice.id, MAX_SEQ))?.seq).toBe(MAX_SEQ)
    for (const bad of [
      `${alice.id.slice(0, 12)}.0`,
      `${alice.id.slice(0, 12)}.07`,
      `${alice.id.slice(0, 12)}.${MAX_SEQ + 1}`,
      `${alice.id.slice(0, 11)}.1`,
      `${alice.id.slice(0, 12)}.1.`,
      `${alice.id.slice(0, 11)}+.1`,
      '',
    ]) {
      expect(parseMessageId(bad), bad).toBeUndefined()
    }
  })

  it('[SCH3] author ids are canonical 43-character base64url', () => {
    expect(isAuthorId(alice.id)).toBe(true)
    expect(isAuthorId(alice.id.slice(0, 42) + 'B')).toBe(false) // non-zero padding bits
    expect(isAuthorId(alice.id + 'A')).toBe(false)
    expect(isAuthorId(alice.id.replace(/.$/, '='))).toBe(false)
    expect(isAuthorId(42)).toBe(false)
  })

  it('[SCH4] meta keys are <field>/<authorId>', () => {
    expect(parseMetaKey(metaKey('name', alice.id))).toEqual({ field: 'name', author: alice.id })
    expect(parseMetaKey(`kind/${alice.id}`)).toBeUndefined()
    expect(parseMetaKey(`name/${alice.id}/x`)).toBeUndefined()
    expect(parseMetaKey('name/nobody')).toBeUndefined()
  })
})

describe('schema: record guards', () => {
  it('[SCH5] accepts a well-formed ChatMessage', () => {
    expect(isChatMessage(message())).toBe(true)
    expect(isChatMessage(message({ text: '' }))).toBe(true)
  })

  it('[SCH6] rejects extra, missing and mistyped fields, and foreign prototypes', () => {
    const cases: unknown[] = [
      { ...message(), extra: 1 },
      (({ text: _t, ...rest }) => rest)(message()),
      message({ wall: -1 }),
      message({ wall: 1.5 }),
      message({ count: 2 ** 32 }),
      { ...message(), wall: '1' },
      { ...message(), count: 10n },
      message({ room: 'Not A Room' }),
      message({ author: bob.id }), // id prefix is alice's
      message({ id: `${alice.id.slice(0, 12)}.0` }),
      JSON.parse(`{"__proto__": {"x": 1}, ${JSON.stringify(message()).slice(1)}`),
      Object.setPrototypeOf((({ text: _t, ...rest }) => rest)(message()), { text: 'inherited' }),
      Object.assign(Object.create(null), message()),
      [message()],
      null,
      'message',
    ]
    for (const [i, c] of cases.entries()) expect(isChatMessage(c), `case ${i}`).toBe(false)
  })

  it('[SCH7] bounds text by UTF-8 bytes (MAX_TEXT_BYTES)', () => {
    expect(isChatMessage(message({ text: 'a'.repeat(MAX_TEXT_BYTES) }))).toBe(true)
    expect(isChatMessage(message({ text: 'a'.repeat(MAX_TEXT_BYTES + 1) }))).toBe(false)
    expect(isChatMessage(message({ text: 'é'.repeat(MAX_TEXT_BYTES / 2) }))).toBe(true)
    expect(isChatMessage(message({ text: 'é'.repeat(MAX_TEXT_BYTES / 2 + 1) }))).toBe(false)
    expect(isChatMessage(message({ text: '😀'.repeat(MAX_TEXT_BYTES / 4 + 1) }))).toBe(false)
  })

  it('[SCH8] utf8Length agrees with TextEncoder, lone surrogates included', () => {
    const gen = prng.create(8)
    const alphabet = ['a', 'é', '€', '😀', '\ud800', '\udc00', '\u0000', '\u07ff', '\u0800']
    for (let i = 0; i < 2000; i++) {
      let s = ''
      for (let n = prng.uint32(gen, 0, 20); n > 0; n--) s += prng.oneOf(gen, alphabet)
      expect(utf8Length(s), JSON.stringify(s)).toBe(new TextEncoder().encode(s).length)
      expect(wellFormed(s)).toBe(new TextDecoder().decode(new TextEncoder().encode(s)))
    }
  })

  it('[SCH9] EditRecord: a deletion carries no text', () => {
    const e = { id: messageId(alice.id, 1), text: 'new', deleted: false, ...at(2000) }
    expect(isEditRecord(e)).toBe(true)
    expect(isEditRecord({ ...e, deleted: true, text: '' })).toBe(true)
    expect(isEditRecord({ ...e, deleted: true })).toBe(false)
    expect(isEditRecord({ ...e, deleted: 1 })).toBe(false)
    expect(isEditRecord({ ...e, id: 'x' })).toBe(false)
    expect(isEditRecord({ ...e, author: alice.id })).toBe(false)
  })

  it('[SCH10] meta values: lengths, kinds and members', () => {
    const t = at(0)
    const name = metaKey('name', alice.id)
    const created = metaKey('created', alice.id)
    expect(isMetaValue(name, { value: 'x'.repeat(80), ...t })).toBe(true)
    expect(isMetaValue(name, { value: 'x'.repeat(81), ...t })).toBe(false)
    expect(isMetaValue(metaKey('topic', alice.id), { value: 'x'.repeat(250), ...t })).toBe(true)
    expect(isMetaValue(metaKey('topic', alice.id), { value: 'x'.repeat(251), ...t })).toBe(false)
    expect(isMetaValue(name, { value: 'x', ...t, extra: 1 })).toBe(false)
    expect(isMetaValue(`kind/${alice.id}`, 'public')).toBe(false)
    const ok = [
      { kind: 'public', version: 1, ...t },
      { kind: 'private', members: [alice.id], version: 1, ...t },
      { kind: 'private', members: [bob.id, alice.id, carol.id], version: 1, ...t },
      { kind: 'dm', members: [alice.id, bob.id], version: 1, ...t },
    ]
    for (const v of ok) expect(isMetaValue(created, v), JSON.stringify(v)).toBe(true)
    const bad = [
      { kind: 'public', members: [alice.id], version: 1, ...t },
      { kind: 'private', version: 1, ...t },
      { kind: 'private', members: [bob.id], version: 1, ...t }, // creator not a member
      { kind: 'private', members: [alice.id, alice.id], version: 1, ...t },
      { kind: 'dm', members: [alice.id], version: 1, ...t },
      { kind: 'dm', members: [alice.id, bob.id, carol.id], version: 1, ...t },
      { kind: 'secret', members: [alice.id], version: 1, ...t },
      { kind: 'public', version: 0, ...t },
      { kind: 'public', ...t },
    ]
    for (const v of bad) expect(isMetaValue(created, v), JSON.stringify(v)).toBe(false)
  })
})

describe('schema: meta resolution', () => {
  it('[SCH11] earliest creation wins; latest name and topic win; non-members are ignored', () => {
    const entries: [string, unknown][] = [
      ...metaWrites(
        alice.id,
        1,
        { kind: 'private', members: [alice.id, bob.id], name: 'a' },
        at(10),
      ),
      ...metaWrites(carol.id, 1, { kind: 'public', name: 'carol was here' }, at(20)),
      ...metaWrites(bob.id, 5, { topic: 'plans' }, at(30)),
      ...metaWrites(carol.id, 2, { name: 'ignored: not a member' }, at(40)),
      [metaKey('name', bob.id), { value: 'x'.repeat(200), ...at(50) }], // invalid: skipped
      ['garbage', 1],
    ]
    expect(resolveMeta(entries)).toEqual({
      name: 'a',
      topic: 'plans',
      kind: 'private',
      members: [alice.id, bob.id],
      createdBy: alice.id,
      createdWall: at(10).wall,
      schemaVersion: 1,
    })
    expect(resolveMeta(entries.filter(([k]) => !k.startsWith('created/')))).toBeUndefined()
  })

  it('[SCH12] concurrent names order by (wall, count, author)', () => {
    const base = metaWrites(alice.id, 1, { kind: 'public' }, at(0))
    const a = metaWrites(alice.id, 2, { name: 'from alice' }, at(5, 1))
    const b = metaWrites(bob.id, 1, { name: 'from bob' }, at(5, 1))
    const winner = alice.id < bob.id ? 'from bob' : 'from alice'
    expect(resolveMeta([...base, ...a, ...b])?.name).toBe(winner)
    expect(resolveMeta([...base, ...b, ...a])?.name).toBe(winner)
  })

  it('[SCH13] metaWrites refuses what validation would refuse', () => {
    expect(() => metaWrites(alice.id, 2, { kind: 'public' }, at(0))).toThrow(
      expect.objectContaining({ name: 'InvalidRecordError' }),
    )
    for (const fields of [{ members: [alice.id] }, { name: 'x'.repeat(81) }, {}]) {
      expect(() => metaWrites(alice.id, 1, fields, at(0))).toThrow(
        expect.objectContaining({ name: 'InvalidRecordError' }),
      )
    }
    expect(() => metaWrites(alice.id, 1, { kind: 'dm', members: [alice.id] }, at(0))).toThrow(
      expect.objectContaining({ name: 'InvalidRecordError' }),
    )
  })
})
