/** A real ParleyClient on the memory hub with an IndexedDB store (fake-indexeddb): no DOM. */
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { randomBytes } from 'node:crypto'
import { createMemoryHub, type MemoryHub } from '../../src/net/memory.ts'
import { Messenger } from '../../src/core/messenger.ts'
import { ParleyClient } from '../../src/core/client.ts'
import { openIdbStore } from '../../src/core/idb-store.ts'
import { authorId } from '../../src/crdt/entry.ts'
import { createNobleSigner, nobleCrypto } from '../../src/crdt/crypto.ts'

export interface HubClient {
  client: ParleyClient
  stop(): Promise<void>
}

export async function hubClient(
  hub: MemoryHub = createMemoryHub(),
  userId = 'tess',
  factory = new IDBFactory(),
): Promise<HubClient> {
  const signer = createNobleSigner(new Uint8Array(randomBytes(32)))
  const store = await openIdbStore(`ui-${userId}`, factory)
  const net = hub.createNet()
  const messenger = new Messenger({ net, store, signer, crypto: nobleCrypto, name: userId })
  await net.start()
  await messenger.start()
  const client = new ParleyClient({
    messenger,
    store,
    account: { userId, name: 'Tess Tester', author: authorId(signer.publicKey) },
  })
  await client.start()
  return {
    client,
    async stop() {
      await client.stop()
      await messenger.stop()
      await net.stop()
      await store.close()
    },
  }
}
