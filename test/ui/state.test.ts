import { afterEach, describe, expect, it, vi } from 'vitest'
import { IDBFactory } from 'fake-indexeddb'
import { createMemoryHub } from '../../src/net/memory.ts'
import { ClientState } from '../../src/ui/state/client.svelte.ts'
import { RoomState } from '../../src/ui/state/room.svelte.ts'
import { hubClient, type HubClient } from './helpers.ts'

describe('ui state classes (no DOM)', () => {
  const open: HubClient[] = []
  afterEach(async () => {
    for (const c of open.splice(0)) await c.stop()
  })

  it('[UI1] RoomState follows posts, pending delivery, and keeps the draft across a reload', async () => {
    const factory = new IDBFactory()
    const hub = createMemoryHub()
    const c = await hubClient(hub, 'tess', factory)
    open.push(c)
    const room = new RoomState(c.client, 'general')
    room.saveDraft('half a tho')
    await room.post('first')
    await vi.waitFor(() => expect(room.messages.map((m) => m.text)).toEqual(['first']))
    expect(c.client.deliveryOf(room.messages[0]!)).toBe('pending')
    expect(room.delivered).toBe(0)
    room.saveDraft('half a thought')
    await c.client.local.saveDraft('general', 'half a thought')
    room.destroy()
    await c.stop()
    open.pop()
    // reload: same IndexedDB
    const again = await hubClient(hub, 'tess', factory)
    open.push(again)
    const reloaded = new RoomState(again.client, 'general')
    expect(reloaded.draft()).toBe('half a thought')
    await vi.waitFor(() => expect(reloaded.messages.map((m) => m.text)).toEqual(['first']))
    reloaded.destroy()
  })

  it('[UI2] ClientState lists rooms, creates one, opens it, and unsubscribes on destroy', async () => {
    const c = await hubClient()
    open.push(c)
    const app = new ClientState(c.client)
    expect(app.rooms.map((r) => r.id)).toEqual(['general'])
    expect(app.current).toBe('general')
    const id = await c.client.createRoom('Release Planning', 'Thursday')
    await vi.waitFor(() =>
      expect(app.rooms.find((r) => r.id === id)).toMatchObject({
        name: 'Release Planning',
        topic: 'Thursday',
        kind: 'public',
      }),
    )
    app.open(id)
    expect(app.current).toBe(id)
    await app.leave(id)
    expect(app.current).toBe('general')
    expect(app.rooms.map((r) => r.id)).toEqual(['general'])
    app.destroy()
    await c.client.createRoom('After Destroy')
    expect(app.rooms.map((r) => r.id)).toEqual(['general'])
  })

  it('[UI3] RoomState: a slow earlier read never overwrites a newer one; loadOlder ends', async () => {
    const c = await hubClient()
    open.push(c)
    const room = new RoomState(c.client, 'general')
    await room.post('a')
    await room.post('b')
    await Promise.all([room.refresh(), room.refresh()])
    expect(room.messages.map((m) => m.text)).toEqual(['a', 'b'])
    expect(await room.loadOlder()).toBe(false)
    expect(room.hasOlder).toBe(false)
    // "none" is not believed forever: catch-up may store older days meanwhile
    const asked = vi.spyOn(c.client, 'loadOlder')
    expect(await room.loadOlder()).toBe(false)
    expect(asked).not.toHaveBeenCalled()
    const now = Date.now()
    vi.spyOn(Date, 'now').mockReturnValue(now + 2_500)
    await room.loadOlder()
    expect(asked).toHaveBeenCalledTimes(1)
    vi.restoreAllMocks()
    room.destroy()
  })
})
