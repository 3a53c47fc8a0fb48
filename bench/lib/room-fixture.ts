/**
 * A big room, built fast: one author process posts `count` 200-byte messages with many posts in
 * flight (the Messenger signs and stores up to 256 per batch), its injected clock spreading them
 * evenly over `days` days that end a day before now — realistic rooms span months. With `watcher`,
 * a second peer is connected to the author while it writes and holds the whole room before the
 * fixture is returned, as the side-by-side's servers have a writer and a watcher connected while
 * their room is written (bench/versus.ts): the author has served a peer before a joiner comes.
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
  /** The peer connected while the room was written (`watcher`), still connected. */
  watcher?: PeerProcess
  /** Stops the peers and removes their data. */
  close(): Promise<void>
}

export async function buildRoom(
  count: number,
  opts: { days?: number; cpuProfDir?: string; watcher?: boolean } = {},
): Promise<RoomFixture> {
  const days = opts.days ?? 200
  const room = `bench-${count}`
  const dir = tempDir(`room${count}`)
  const author = PeerProcess.spawn({
    name: `author-${count}`,
    ...(opts.cpuProfDir === undefined ? {} : { cpuProfDir: opts.cpuProfDir }),
  })
  const watcherDir = opts.watcher === true ? tempDir(`watcher${count}`) : undefined
  const watcher =
    watcherDir === undefined ? undefined : PeerProcess.spawn({ name: `watcher-${count}` })
  const close = async (): Promise<void> => {
    for (const p of [watcher, author]) await p?.stop().catch(() => p.kill())
    dir.dispose()
    watcherDir?.dispose()
  }
  try {
    const startMs = Date.now() - (days + 1) * DAY_MS
    const info = await author.call('start', {
      dir: dir.path,
      kind: 'messenger',
      rooms: [room],
      // about one clock reading per message: `count` readings span `days`
      clock: { startMs, stepMs: (days * DAY_MS) / count },
    })
    if (watcher !== undefined) {
      await watcher.call('start', { dir: watcherDir!.path, kind: 'messenger', rooms: [room] })
      await watcher.call('dial', { addr: info.addr })
      await author.call('waitTopic', { topic: room, n: 1, timeoutMs: 30_000 })
    }
    const t0 = performance.now()
    await author.call('flood', { room, count, inflight: 1024, bytes: 200 }, 600_000)
    const buildMs = performance.now() - t0
    const { ids, seq } = await author.call('newest', { room, n: 50 })
    const track = { room, author: info.author, seq, shown: 0, timeoutMs: 300_000 }
    await watcher?.call('track', track, 320_000)
    const authorMem = await author.call('mem', {})
    const fx = { room, count, dir, author, info, seq, newest: ids, buildMs, authorMem, close }
    return watcher === undefined ? fx : { ...fx, watcher }
  } catch (err) {
    author.kill()
    watcher?.kill()
    dir.dispose()
    watcherDir?.dispose()
    throw err
  }
}
