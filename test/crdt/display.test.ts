/**
 * Edits merged across day documents (src/crdt/display.ts `mergeEdits`): what a read shows, with
 * and without edits about, and a result the caller owns.
 */
import { describe, expect, it } from 'vitest'
import { mergeEdits, toDisplay, type EditedMessages } from '../../src/crdt/display.ts'
import type { EditRecord } from '../../src/crdt/schema.ts'

const AUTHOR = 'a'.repeat(43)

function day(first: number, n: number, edits: EditRecord[] = []): EditedMessages {
  const messages = Object.freeze(
    Array.from({ length: n }, (_, i) =>
      toDisplay({
        id: `AAAAAAAAAAAA.${first + i}`,
        room: 'r',
        author: AUTHOR,
        wall: 1_000 * (first + i),
        count: 0,
        text: `message ${first + i}`,
      }),
    ),
  )
  return { messages: () => messages, edits: () => new Map(edits.map((e) => [e.id, e])) }
}

describe('mergeEdits', () => {
  it('[EDIT1] without edits: every message of every day, oldest day first, in a fresh array', () => {
    const days = [day(1, 3), day(4, 2)]
    const out = mergeEdits(days)
    expect(out.map((m) => m.id)).toEqual([1, 2, 3, 4, 5].map((i) => `AAAAAAAAAAAA.${i}`))
    expect(out.every((m) => !m.edited && !m.deleted)).toBe(true)
    out.pop()
    out[0] = out[1]!
    expect(mergeEdits(days).map((m) => m.text)).toEqual([1, 2, 3, 4, 5].map((i) => `message ${i}`))
  })

  it('[EDIT2] an edit made on a later day, and the newer of two, apply to the message of an earlier day', () => {
    const older: EditRecord = {
      id: 'AAAAAAAAAAAA.2',
      text: 'first fix',
      deleted: false,
      wall: 9_000,
      count: 0,
    }
    const newer: EditRecord = {
      id: 'AAAAAAAAAAAA.2',
      text: 'second fix',
      deleted: false,
      wall: 9_500,
      count: 0,
    }
    const gone: EditRecord = {
      id: 'AAAAAAAAAAAA.4',
      text: '',
      deleted: true,
      wall: 9_600,
      count: 0,
    }
    const out = mergeEdits([day(1, 3, [older]), day(4, 2, [newer, gone])])
    expect(out.map((m) => [m.text, m.edited, m.deleted])).toEqual([
      ['message 1', false, false],
      ['second fix', true, false],
      ['message 3', false, false],
      ['', false, true],
      ['message 5', false, false],
    ])
    expect(out[1]!.editedAt).toEqual({ wall: 9_500, count: 0 })
  })
})
