/**
 * RoomSet's provisional rooms (always-on peers) against the interleavings a peer meets: a pull
 * and a push settling the same provisional room at once, a join while a pull holds the room
 * provisionally, and a pull while the room is being joined. Fake histories count their
 * opens, closes and adoptions; the interleavings are forced, not hoped for.
 */
import { describe, expect, it, vi } from 'vitest'
import { RoomSet } from '../../src/core/room-set.ts'
import type { RoomHistory } from '../../src/core/room-history.ts'

interface Fake {
  room: string
  closed: boolean
  open(): Promise<void>
  reload(): Promise<void>
  close(): Promise<void>
}

function harness() {
  const made: Fake[] = []
  const adopted: Fake[] = []
  // the first history's open can be held back (a slow disk) until `release`
  let gate: Promise<void> = Promise.resolve()
  let release = (): void => undefined
  const set = new RoomSet({
    retainAll: true,
    started: () => true,
    create: (room) => {
      const first = made.length === 0
      const f: Fake = {
        room,
        closed: false,
        open: () => (first ? gate : Promise.resolve()),
        reload: () => Promise.resolve(),
        close: async () => {
          f.closed = true
        },
      }
      made.push(f)
      return f as unknown as RoomHistory
    },
    adopted: (h) => adopted.push(h as unknown as Fake),
  })
  const hold = (): void => {
    gate = new Promise((r) => (release = r))
  }
  return { set, made, adopted, hold, release: () => release() }
}

describe('RoomSet: provisional rooms', () => {
  it('[RSET1] a pull and a push settling one provisional room at once adopt it once and never close it', async () => {
    const { set, adopted } = harness()
    const h = (await set.open('plans'))!
    // a pull that ingested and a push that found a gap, both settling before either resumes
    await Promise.all([set.settle(h, true), set.settle(h, false)])
    expect(set.get('plans')).toBe(h)
    expect(adopted).toEqual([h])
    expect((h as unknown as Fake).closed).toBe(false)
  })

  it('[RSET2] a join while a pull holds the room provisionally keeps that history open, adopted once', async () => {
    const { set, adopted } = harness()
    const h = (await set.open('plans'))!
    // the pull ends (nothing new) just as the account room's record makes us join
    const [, joined] = await Promise.all([set.settle(h, false), set.join('plans')])
    expect(joined).toBe(h)
    expect(set.get('plans')).toBe(h)
    expect(adopted).toEqual([h])
    expect((h as unknown as Fake).closed).toBe(false)
  })

  it('[RSET3] a pull while the room is being joined uses the joining history, not a second one', async () => {
    const { set, made, adopted, hold, release } = harness()
    hold()
    const joining = set.join('plans')
    await vi.waitFor(() => expect(made).toHaveLength(1)) // its history is opening
    const pulled = set.open('plans')
    release()
    const [h, p] = await Promise.all([joining, pulled])
    await set.settle(p!, true)
    expect(p).toBe(h)
    expect(made).toHaveLength(1)
    expect(adopted).toEqual([h])
    expect(set.get('plans')).toBe(h)
  })
})
