import { describe, expect, it } from 'vitest'
import {
  decodeRecord,
  encodeRecord,
  isDirectoryRecord,
  resolvePeople,
  resolveRooms,
  type PostedText,
} from '../../src/crdt/directory.ts'

const A = 'A'.repeat(42) + 'A'
const B = 'B'.repeat(42) + 'A'
const C = 'C'.repeat(42) + 'A'
const profile = (author: string, wall: number, userId: string, name = userId): PostedText => ({
  author,
  wall,
  count: 0,
  text: encodeRecord({ t: 'profile', userId, name }),
})

describe('directory records', () => {
  it('[DIR1] guards accept exactly the record shapes', () => {
    expect(isDirectoryRecord({ t: 'profile', userId: 'alice', name: 'Alice' })).toBe(true)
    expect(isDirectoryRecord({ t: 'profile', userId: 'Alice', name: 'Alice' })).toBe(false)
    expect(isDirectoryRecord({ t: 'profile', userId: 'alice', name: ' ' })).toBe(false)
    expect(isDirectoryRecord({ t: 'profile', userId: 'alice', name: 'A', x: 1 })).toBe(false)
    expect(isDirectoryRecord({ t: 'room', id: 'design', name: 'Design', topic: '' })).toBe(true)
    expect(isDirectoryRecord({ t: 'room', id: 'sys.people', name: 'x', topic: '' })).toBe(false)
    expect(isDirectoryRecord({ t: 'dm', id: 'dm.ab', members: [A, B] })).toBe(true)
    expect(isDirectoryRecord({ t: 'dm', id: 'dm.ab', members: [A, A] })).toBe(false)
    expect(decodeRecord('hello')).toBeUndefined()
    expect(decodeRecord('{"__proto__":{"t":"profile"}}')).toBeUndefined()
  })

  it('[DIR2] the earliest claim of a user ID wins; the later claimant is in conflict', () => {
    const people = resolvePeople([
      profile(B, 20, 'bob'),
      profile(A, 10, 'bob'),
      profile(C, 5, 'carol'),
    ])
    expect(people.get(A)).toMatchObject({ userId: 'bob', conflict: false })
    expect(people.get(B)).toMatchObject({ userId: 'bob', conflict: true })
    expect(people.get(C)).toMatchObject({ userId: 'carol', conflict: false })
  })

  it('[DIR3] equal clocks: the smaller author id wins, on every peer whatever the order', () => {
    const msgs = [profile(B, 10, 'bob'), profile(A, 10, 'bob')]
    for (const order of [msgs, [...msgs].reverse()]) {
      const people = resolvePeople(order)
      expect(people.get(A)?.conflict).toBe(false)
      expect(people.get(B)?.conflict).toBe(true)
    }
  })

  it('[DIR4] a loser that picks another ID is resolved; a name change keeps the claim time', () => {
    const people = resolvePeople([
      profile(A, 10, 'bob'),
      profile(B, 10, 'bob'),
      profile(B, 30, 'bobby', 'Bob B'),
      profile(A, 40, 'bob', 'Bob A'),
    ])
    expect(people.get(A)).toMatchObject({ userId: 'bob', name: 'Bob A', conflict: false })
    expect(people.get(A)?.claimed.wall).toBe(10)
    expect(people.get(B)).toMatchObject({ userId: 'bobby', conflict: false })
  })

  it('[DIR5] rooms: latest listing per room; a dm counts only when posted by a member', () => {
    const post = (author: string, wall: number, r: object): PostedText => ({
      author,
      wall,
      count: 0,
      text: JSON.stringify(r),
    })
    const { rooms, dms } = resolveRooms([
      post(A, 1, { t: 'room', id: 'design', name: 'Design', topic: '' }),
      post(B, 2, { t: 'room', id: 'design', name: 'Design', topic: 'pixels' }),
      post(C, 3, { t: 'dm', id: 'dm.x', members: [A, B] }),
      post(A, 4, { t: 'dm', id: 'dm.y', members: [A, B] }),
    ])
    expect(rooms.get('design')?.topic).toBe('pixels')
    expect([...dms.keys()]).toEqual(['dm.y'])
  })

  it('[DIR6] private-room notices: only for p. rooms, 1 to 32 distinct author ids; no public listing', () => {
    const id = `p.${'a'.repeat(40)}.${'b'.repeat(12)}`
    expect(isDirectoryRecord({ t: 'private', id, members: [A, B] })).toBe(true)
    expect(isDirectoryRecord({ t: 'private', id, members: [] })).toBe(false)
    expect(isDirectoryRecord({ t: 'private', id, members: [A, A] })).toBe(false)
    expect(isDirectoryRecord({ t: 'private', id: 'design', members: [A] })).toBe(false)
    const many = Array.from({ length: 33 }, (_, i) => `${i.toString(36).padStart(42, 'A')}A`)
    expect(isDirectoryRecord({ t: 'private', id, members: many })).toBe(false)
    expect(isDirectoryRecord({ t: 'private', id, members: many.slice(0, 32) })).toBe(true)
    const post = (author: string, wall: number, members: string[]): PostedText => ({
      author,
      wall,
      count: 0,
      text: encodeRecord({ t: 'private', id, members }),
    })
    const { rooms, invited } = resolveRooms([post(A, 1, [B]), post(B, 2, [C])])
    expect(rooms.size).toBe(0)
    expect([...(invited.get(B) ?? [])]).toEqual([id])
    expect([...(invited.get(C) ?? [])]).toEqual([id])
    expect(invited.get(A)).toBeUndefined()
  })
})
