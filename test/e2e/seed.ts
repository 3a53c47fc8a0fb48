/**
 * Seeds a data directory with a big room before `parley serve` opens it: `count` messages in room
 * `big`, `perDay` a day, the newest day (yesterday, UTC) holding `newestDay` of them: the same days
 * whatever the hour (a clock that steps through the days), listed in sys.rooms.
 * The directory's organisation is made first, dated before the first message, with a `peer`
 * certificate for the seeding device and for the serve's own device key: every peer accepts the
 * seeded entries.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { createClock } from '../../src/crdt/hlc.ts'
import { encodeRecord, ROOMS_ROOM } from '../../src/crdt/directory.ts'
import { Org } from '../../src/core/org.ts'
import { createRootStatement } from '../../src/core/org-join.ts'
import { saveOrgSettings } from '../../src/core/org-settings.ts'
import { settingOrCreate } from '../../src/core/store.ts'
import { createNodeSigner, nodeCrypto } from '../../src/node/crypto-node.ts'
import { openSqliteStore } from '../../src/node/sqlite-store.ts'
import { generateNetKey } from '../../src/net/libp2p.ts'
import { startTestPeer } from '../helpers/peers.ts'

async function seedOrg(dir: string, seeder: Uint8Array, since: number): Promise<void> {
  const store = openSqliteStore(join(dir, 'history.db'))
  try {
    const serveKey = await settingOrCreate(store, 'device-key', async () => randomBytes(32))
    const signer = createNodeSigner(serveKey)
    const rootSecret = new Uint8Array(randomBytes(32))
    const rootSigner = createNodeSigner(rootSecret)
    const root = await createRootStatement(rootSigner, 'E2E Office', since)
    const networkKey = new Uint8Array(randomBytes(32))
    const org = await Org.open({
      crypto: nodeCrypto,
      root,
      networkKey,
      signer,
      rootSigner,
      now: () => since,
    })
    const peer = (key: Uint8Array, userId: string) =>
      org.issueCertificate({ userId, name: userId, key, role: 'peer' })
    const records = [await peer(signer.publicKey, 'node-serve'), await peer(seeder, 'node-seeder')]
    await saveOrgSettings(store, { root, networkKey, rootSecret, records, addrs: [] })
  } finally {
    await store.close()
  }
}

export async function seedBigRoom(
  dir: string,
  count: number,
  perDay: number,
  newestDay: number,
): Promise<number> {
  const day = 86_400_000
  const step = day / perDay
  // The newest messages fall at the start of yesterday (UTC), whatever the hour now.
  const yesterday = Math.floor(Date.now() / day) * day - day
  let t = yesterday + newestDay * step - count * step
  const keys = { seed: new Uint8Array(randomBytes(32)), netKey: await generateNetKey() }
  await seedOrg(dir, createNodeSigner(keys.seed).publicKey, t - 60_000)
  const clock = createClock(() => (t += step))
  const peer = await startTestPeer(dir, keys, { clock, name: 'seeder' })
  const t0 = performance.now()
  try {
    await peer.messenger.createRoom('big', { name: 'Big Room', topic: `${count} messages` })
    await peer.messenger.post(
      ROOMS_ROOM,
      encodeRecord({ t: 'room', id: 'big', name: 'Big Room', topic: '' }),
    )
    const batch = 2_000
    for (let i = 0; i < count; i += batch) {
      const posts: Promise<unknown>[] = []
      for (let j = i; j < Math.min(count, i + batch); j++)
        posts.push(peer.messenger.post('big', `message ${j}`))
      await Promise.all(posts)
    }
  } finally {
    await peer.stop()
  }
  return performance.now() - t0
}
