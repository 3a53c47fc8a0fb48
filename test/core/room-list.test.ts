/**
 * RoomList's summaries against refreshes that finish out of order or fail: the sidebar shows the
 * newest summary that could be read, and a refresh that fails never hides a room we joined.
 */
import { describe, expect, it } from 'vitest'
import { RoomList } from '../../src/core/room-list.ts'
import { LocalState } from '../../src/core/local-state.ts'
import type { Messenger } from '../../src/core/messenger.ts'
import type { HistoryStore } from '../../src/core/store.ts'
import type { RoomMeta } from '../../src/crdt/schema.ts'

/** A messenger whose room reads wait on the test: each `roomMeta` call takes the next answer. */
function fakeMessenger() {
  const answers: { resolve: (m: RoomMeta) => void; reject: (e: Error) => void }[] = []
  const messenger = {
    join: async () => undefined,
    roomMeta: () => new Promise((resolve, reject) => answers.push({ resolve, reject })),
    messages: async () => [],
  } as unknown as Messenger
  return { messenger, answers }
}

const store = {
  getSetting: async () => undefined,
  putSetting: async () => undefined,
} as unknown as HistoryStore

/** A RoomList over the fake messenger, in room `plans`. */
async function joinedPlans() {
  const { messenger, answers } = fakeMessenger()
  const local = new LocalState(store)
  await local.load()
  const list = new RoomList({ messenger, local, me: 'me', emit: () => undefined })
  await local.update((d) => d.joined.push('plans'))
  return { list, answers }
}

describe('RoomList summaries', () => {
  it('[RLIST1] a newer refresh that fails does not drop the older one’s summary', async () => {
    const { list, answers } = await joinedPlans()
    const first = list.refresh('plans')
    const second = list.refresh('plans')
    answers[1]!.reject(new Error('history closed under us'))
    await expect(second).rejects.toThrow('history closed')
    answers[0]!.resolve({ name: 'Plans', kind: 'public' } as RoomMeta)
    await first
    expect(list.rooms().map((r) => [r.id, r.name])).toEqual([['plans', 'Plans']])
  })

  it('[RLIST2] an older refresh finishing after a newer one does not overwrite it', async () => {
    const { list, answers } = await joinedPlans()
    const first = list.refresh('plans')
    const second = list.refresh('plans')
    answers[1]!.resolve({ name: 'New name', kind: 'public' } as RoomMeta)
    await second
    answers[0]!.resolve({ name: 'Old name', kind: 'public' } as RoomMeta)
    await first
    expect(list.rooms().find((r) => r.id === 'plans')?.name).toBe('New name')
  })
})
