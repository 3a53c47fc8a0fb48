/**
 * Micro-bench of the SQLite store's `append` as a catch-up drives it: 100,000 entries of one
 * author arrive newest chunk first (the pull protocol's order), ~2,300 entries (1 MiB) per call.
 * Shows how the cost of one call grows with what is already stored above the contiguous prefix.
 *
 *   npx tsx bench/micro/store-append.ts [--quick]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { openSqliteStore } from '../../src/node/sqlite-store.ts'
import type { StoredEntry } from '../../src/core/store.ts'

export interface AppendTiming {
  order: 'newest-first' | 'oldest-first'
  entries: number
  totalMs: number
  /** ms of the first and the last `append` call. */
  firstCallMs: number
  lastCallMs: number
}

export async function appendBench(
  entries: number,
  order: AppendTiming['order'],
): Promise<AppendTiming> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-append-'))
  const store = openSqliteStore(join(dir, 'history.db'))
  try {
    const author = new Uint8Array(randomBytes(32))
    const bytes = new Uint8Array(450)
    const chunk = 2_300
    const head = { author, seq: entries, hash: new Uint8Array(32), sig: new Uint8Array(64) }
    const calls: number[] = []
    const starts: number[] = []
    for (let hi = entries; hi >= 1; hi -= chunk) starts.push(Math.max(1, hi - chunk + 1))
    if (order === 'oldest-first') starts.reverse()
    for (const lo of starts) {
      const batch: StoredEntry[] = []
      for (let seq = lo; seq < lo + chunk && seq <= entries; seq++)
        batch.push({ author, seq, hash: new Uint8Array(32), period: 20_000 + (seq >> 9), bytes })
      const t0 = performance.now()
      await store.append('room', batch, head)
      calls.push(performance.now() - t0)
    }
    return {
      order,
      entries,
      totalMs: calls.reduce((a, b) => a + b, 0),
      firstCallMs: calls[0]!,
      lastCallMs: calls[calls.length - 1]!,
    }
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = process.argv.includes('--quick') ? 20_000 : 100_000
  for (const order of ['oldest-first', 'newest-first'] as const) {
    const r = await appendBench(n, order)
    console.log(
      `${order.padEnd(12)} ${n} entries: ${r.totalMs.toFixed(0)} ms total, first call ${r.firstCallMs.toFixed(1)} ms, last ${r.lastCallMs.toFixed(1)} ms`,
    )
  }
}
