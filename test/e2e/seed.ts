/**
 * Seeds a data directory with a big room before `parley serve` opens it: `count` messages in room
 * `big`, `perDay` a day, ending now (a clock that steps through the days), listed in sys.rooms.
 */
import { createClock } from '../../src/crdt/hlc.ts'
import { encodeRecord, ROOMS_ROOM } from '../../src/crdt/directory.ts'
import { startTestPeer } from '../helpers/peers.ts'

export async function seedBigRoom(dir: string, count: number, perDay: number): Promise<number> {
  const step = 86_400_000 / perDay
  let t = Date.now() - Math.ceil(count / perDay) * 86_400_000
  const clock = createClock(() => (t += step))
  const peer = await startTestPeer(dir, undefined, { clock, name: 'seeder' })
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
