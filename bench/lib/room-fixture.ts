/**
 * A big room, built fast: one author process posts `count` 200-byte messages with many posts in
 * flight (the Messenger signs and stores up to 256 per batch), its injected clock spreading them
 * evenly over `days` days that end a day before now — realistic rooms span months.
 */
import { PeerProcess } from './proc.ts'
import { tempDir } from './report.ts'
import type { MemSample, StartResult } from './protocol.ts'

export const DAY_MS = 86_400_000

export interface RoomFixture {
  room: string
  count: number
  dir: { path: string; dispose(): void }
  author: PeerProcess
  info: StartResult
  /** Author head seq (messages + the room's meta entry). */
  seq: number
  /** The newest 50 message ids, in display order. */
  newest: string[]
  buildMs: number
  authorMem: MemSample
}

export async function buildRoom(
  count: number,
  opts: { days?: number; cpuProfDir?: string } = {},
): Promise<RoomFixture> {
  const days = opts.days ?? 200
  const room = `bench-${count}`
  const dir = tempDir(`room${count}`)
  const author = PeerProcess.spawn({
    name: `author-${count}`,
    ...(opts.cpuProfDir === undefined ? {} : { cpuProfDir: opts.cpuProfDir }),
  })
  try {
    const startMs = Date.now() - (days + 1) * DAY_MS
    const info = await author.call('start', {
      dir: dir.path,
      kind: 'messenger',
      rooms: [room],
      // about one clock reading per message: `count` readings span `days`
      clock: { startMs, stepMs: (days * DAY_MS) / count },
    })
    const t0 = performance.now()
    await author.call('flood', { room, count, inflight: 1024, bytes: 200 }, 600_000)
    const buildMs = performance.now() - t0
    const { ids, seq } = await author.call('newest', { room, n: 50 })
    const authorMem = await author.call('mem', {})
    return { room, count, dir, author, info, seq, newest: ids, buildMs, authorMem }
  } catch (err) {
    author.kill()
    dir.dispose()
    throw err
  }
}
