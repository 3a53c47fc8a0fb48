/**
 * A page paints the room it shows before the others open (src/core/browser.ts): a lazy
 * `Messenger.start` opens no room until one is used, `openHeld` opens the rest; the client's
 * `startShown` reads the shown room's summary only, `startRest` the other rooms' (unread counts).
 */
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryHub } from '../../src/net/memory.ts'
import { createNobleSigner, nobleCrypto } from '../../src/crdt/crypto.ts'
import { authorId } from '../../src/crdt/entry.ts'
import { openIdbStore } from '../../src/core/idb-store.ts'
import { Messenger } from '../../src/core/messenger.ts'
import { ParleyClient } from '../../src/core/client.ts'

describe('lazy start: the shown room first, the others after the first paint', () => {
  const stops: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s()
  })

  const hub = createMemoryHub()
  const signer = createNobleSigner(new Uint8Array(randomBytes(32)))
  const idb = new IDBFactory()
  const account = { userId: 'ann', name: 'Ann', author: authorId(signer.publicKey) }
  let n = 0
  const open = async (): Promise<{ messenger: Messenger; client: ParleyClient }> => {
    const store = await openIdbStore('lazy', idb)
    const net = hub.createNet(`lazy-${n++}`)
    const messenger = new Messenger({ net, store, signer, crypto: nobleCrypto, name: 'Ann' })
    const client = new ParleyClient({ messenger, store, account })
    stops.push(async () => {
      await client.stop()
      await messenger.stop()
      await store.close()
    })
    return { messenger, client }
  }

  it('[LAZY1] opens only the rooms used, then every held one, then the room list', async () => {
    const first = await open()
    await first.messenger.start()
    await first.client.start()
    for (const room of ['general', 'design', 'ops']) await first.client.joinRoom(room)
    await first.messenger.post('general', 'hello')
    await first.messenger.post('design', 'pixels')
    await first.messenger.post('ops', 'pager')
    await first.client.markRead('ops')
    const open0 = first.messenger.list()
    await stops.pop()!()

    const { messenger, client } = await open()
    await messenger.start({ lazy: true })
    expect(messenger.list()).toEqual([])
    await client.startShown()
    // the room last shown ('general': no other was opened) and nothing else
    expect(messenger.list()).toEqual(['general'])
    expect(client.rooms().map((r) => r.id)).toEqual(['general'])
    expect((await client.messages('general')).map((m) => m.text)).toEqual(['hello'])
    // a room used before `openHeld` opens on demand
    expect((await messenger.messages('design')).map((m) => m.text)).toEqual(['pixels'])
    await messenger.openHeld()
    expect(messenger.list()).toEqual(['design', 'general', 'ops'])
    await client.startRest()
    expect(messenger.list()).toEqual(open0)
    expect(client.rooms().map((r) => r.id)).toEqual(['general', 'design', 'ops'])
  })
})
