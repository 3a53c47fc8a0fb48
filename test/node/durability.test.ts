/**
 * What `parley serve` keeps on disk: every message a `send` reported as sent survives `kill -9`
 * of the serve, and the store grows with the history, not with the number of updates.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { CliHarness, jsonLines, type CliResult } from '../helpers/cli.ts'
import { seededPrng } from '../helpers/prng.ts'
import type { ControlInfo } from '../../src/node/control.ts'

const SEED = Number(process.env.PARLEY_SEED ?? Date.now() % 1_000_000)

const texts = async (h: CliHarness, dir: string, room: string): Promise<string[]> => {
  const r = await h.run(['read', '--data', dir, '--room', room, '--json'])
  expect(r.code, r.stderr).toBe(0)
  return jsonLines(r.stdout).map((m) => m.text)
}

describe('durability of serve under kill -9', () => {
  const h = new CliHarness()
  afterAll(() => h.cleanup())

  it(`[DUR1] every message whose send exited 0 is there after kill -9 and restart (seed ${SEED})`, async () => {
    const rnd = seededPrng(SEED)
    const N = 12
    const CONCURRENCY = 3
    const room = 'durable'
    const dirA = h.tmpDir()
    let a = await h.serve(dirA)
    const b = await h.serve(await h.joined(a), ['--peer', a.addr])
    const killAfter = 3 + rnd.int(N - 8) // completed sends before the kill
    const killDelayMs = rnd.int(150) // then a little later, mid-flight
    const results = new Map<string, CliResult>()
    let next = 0
    let killed = false
    const send = (text: string): Promise<CliResult> =>
      h.run(['send', '--data', dirA, '--timeout', '3', '--room', room, text])
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (!killed && next < N) {
          const text = `message ${String(next++).padStart(2, '0')}`
          results.set(text, await send(text))
          if (results.size === killAfter) {
            setTimeout(() => {
              killed = true
              a.proc.kill('SIGKILL')
            }, killDelayMs)
          }
        }
      }),
    )
    const killedAt = await a.proc.exited
    expect(killedAt.signal, `serve was not killed (seed ${SEED})`).toBe('SIGKILL')
    const ok = [...results].filter(([, r]) => r.code === 0).map(([t]) => t)
    console.log(
      `seed ${SEED}: serve killed ${killDelayMs} ms after ${killAfter} sends; ` +
        `${ok.length} of ${results.size} sends exited 0`,
    )
    expect(ok.length, `seed ${SEED}`).toBeGreaterThanOrEqual(killAfter)
    // A send cut off by the kill says so; one that started after it found no serve and ran as a
    // peer of its own (taking the stale lock over), which found no other peer either, or found
    // another such send holding the directory.
    for (const [t, r] of results) {
      if (r.code === 0) continue
      expect(r.stderr, t).toMatch(
        /lost the connection to parley serve \(pid \d+\).*may or may not be stored|no other peer acknowledged|in use by another Parley process/,
      )
    }
    a = await h.serve(dirA, ['--peer', b.addr])
    expect(readFileSync(join(dirA, 'LOCK'), 'utf8')).toBe(String(a.proc.pid))
    const afterRestart = await texts(h, dirA, room)
    for (const t of ok) expect(afterRestart, `lost ${t} (seed ${SEED})`).toContain(t)
    expect(new Set(afterRestart).size).toBe(afterRestart.length)
    // The rest goes out through the restarted serve, and both peers end with the same history.
    const rest = Array.from({ length: N - next }, (_, i) => `message ${next + i} after restart`)
    for (let i = 0; i < rest.length; i += CONCURRENCY) {
      const batch = await Promise.all(rest.slice(i, i + CONCURRENCY).map(send))
      for (const r of batch) expect(r.code, r.stderr).toBe(0)
    }
    const [onA, onB] = await Promise.all([texts(h, dirA, room), texts(h, b.dir, room)])
    for (const t of [...ok, ...rest]) expect(onB, `B lacks ${t} (seed ${SEED})`).toContain(t)
    expect(onA).toEqual(onB)
    // kill -9 again, now with nothing in flight: the lock it leaves is taken over on restart.
    expect((await a.stop('SIGKILL')).signal).toBe('SIGKILL')
    expect(readFileSync(join(dirA, 'LOCK'), 'utf8')).toBe(String(a.proc.pid))
    a = await h.serve(dirA)
    expect(readFileSync(join(dirA, 'LOCK'), 'utf8')).toBe(String(a.proc.pid))
    expect(await texts(h, dirA, room)).toEqual(onA)
  }, 120_000) // starting peers, invitations and joins: several processes each
})

interface Sizes {
  files: number
  entryBytes: number
  entries: number
}

/** The store's files on disk and the bytes of the entries it holds. */
function sizes(dir: string): Sizes {
  const db = join(dir, 'history.db')
  let files = 0
  for (const f of [db, `${db}-wal`, `${db}-shm`]) if (existsSync(f)) files += statSync(f).size
  const ro = new Database(db, { readonly: true })
  try {
    const row = ro.prepare('SELECT COUNT(*) AS n, SUM(LENGTH(bytes)) AS b FROM entries').get() as {
      n: number
      b: number
    }
    return { files, entryBytes: row.b, entries: row.n }
  } finally {
    ro.close()
  }
}

describe('storage growth', () => {
  const h = new CliHarness()
  afterEach(() => h.cleanup())

  it('[DUR2] 2,000 messages take a small multiple of their entry bytes; a restart adds nothing', async () => {
    const dir = h.tmpDir()
    const s = await h.serve(dir)
    const control = JSON.parse(readFileSync(join(dir, 'control.json'), 'utf8')) as ControlInfo
    const post = async (text: string): Promise<void> => {
      const res = await fetch(`http://127.0.0.1:${control.port}/api/ctl/send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${control.token}`, 'content-type': 'application/json' },
        // No other peer: the serve stores it and answers 504 (queued) after 1 ms.
        body: JSON.stringify({ room: 'growth', text, timeoutMs: 1 }),
      })
      expect([200, 504]).toContain(res.status)
      await res.body?.cancel()
    }
    const N = 2_000
    const text = (i: number): string => `message ${i} `.padEnd(100, 'x')
    let i = 0
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (i < N) await post(text(i++))
      }),
    )
    // Read while it runs: the day's document is built (a Node peer builds none until a room is
    // read) and its snapshot stored at the stop, as a serve someone reads from would.
    expect(await texts(h, dir, 'growth')).toHaveLength(N)
    const running = sizes(dir)
    expect((await s.stop()).code).toBe(0)
    const first = sizes(dir)
    expect(first.entries).toBeGreaterThan(N) // the room's creation is an entry too
    const textBytes = N * 100
    console.log(
      `store after ${N} messages: ${first.files} bytes on disk, ${first.entryBytes} bytes of entries, ` +
        `${textBytes} bytes of text (${(first.files / first.entryBytes).toFixed(2)}× the entries); ` +
        `${running.files} bytes with the WAL while running`,
    )
    expect(first.files).toBeLessThan(4 * first.entryBytes)
    // Restart and read everything (every period document loaded, snapshots checked).
    const again = await h.serve(dir)
    expect(await texts(h, dir, 'growth')).toHaveLength(N)
    expect((await again.stop()).code).toBe(0)
    const now = sizes(dir)
    expect(now.entries).toBe(first.entries)
    expect(now.files, 'the restart grew the store').toBeLessThanOrEqual(first.files)
  })
})
