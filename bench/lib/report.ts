/**
 * Bench results: rows with targets, the machine they ran on, a printed table and a JSON file.
 */
import { cpus, freemem, loadavg, totalmem } from 'node:os'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { format, resolveConfig } from 'prettier'
import { round } from './stats.ts'

export interface Target {
  op: '<=' | '>=' | '='
  value: number
}

export interface Row {
  /** e.g. `2 peers @100/s: p99` */
  name: string
  value: number
  unit: string
  target?: Target
}

export interface BenchResult {
  bench: string
  /** 1-minute load average before and after (other engineers share the machine). */
  load: [number, number]
  /** CPU pressure before and after: % of the last 10 s some task waited for a CPU (Linux PSI). */
  cpuPressure: [number, number]
  seconds: number
  rows: Row[]
  details: unknown
}

export function meets(row: Row): boolean | undefined {
  const t = row.target
  if (t === undefined) return undefined
  if (!Number.isFinite(row.value)) return false
  return t.op === '<='
    ? row.value <= t.value
    : t.op === '>='
      ? row.value >= t.value
      : row.value === t.value
}

/** Runs `fn`, noting the load average and the wall time around it. */
export async function timed(
  bench: string,
  fn: () => Promise<{ rows: Row[]; details: unknown }>,
): Promise<BenchResult> {
  const load0 = loadavg()[0]!
  const psi0 = cpuPressure()
  const t0 = performance.now()
  const { rows, details } = await fn()
  return {
    bench,
    load: [round(load0), round(loadavg()[0]!)],
    cpuPressure: [psi0, cpuPressure()],
    seconds: round((performance.now() - t0) / 1000),
    rows: rows.map((r) => ({ ...r, value: round(r.value) })),
    details,
  }
}

/** `some avg10` of /proc/pressure/cpu (NaN where the kernel has no PSI). */
export function cpuPressure(): number {
  try {
    const m = /some avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))
    return m === null ? NaN : Number(m[1])
  } catch {
    return NaN
  }
}

export function machine(): Record<string, unknown> {
  const c = cpus()
  return {
    cpus: c.length,
    model: c[0]?.model ?? 'unknown',
    memGiB: round(totalmem() / 2 ** 30),
    freeGiB: round(freemem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  }
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length))

export function formatTable(results: readonly BenchResult[]): string {
  const lines: string[] = []
  const rows = results.flatMap((r) => r.rows.map((row) => ({ r, row })))
  const w = Math.max(10, ...rows.map(({ row }) => row.name.length))
  lines.push(
    `${pad('measure', w)}  ${pad('value', 12)}  ${pad('target', 12)}  ok    load (cpu psi %)`,
  )
  lines.push('-'.repeat(w + 44))
  for (const r of results) {
    for (const row of r.rows) {
      const t = row.target === undefined ? '' : `${row.target.op} ${row.target.value}`
      const ok = meets(row)
      const mark = ok === undefined ? '' : ok ? 'yes' : 'NO'
      lines.push(
        `${pad(row.name, w)}  ${pad(`${row.value} ${row.unit}`, 12)}  ${pad(t, 12)}  ${pad(mark, 4)}  ${r.load[0]}→${r.load[1]} (${r.cpuPressure[0]}→${r.cpuPressure[1]})`,
      )
    }
  }
  return lines.join('\n')
}

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url))

/** Writes `results` as JSON, formatted the way `prettier --check .` (npm run check) wants it. */
export async function writeResults(
  file: string,
  results: readonly BenchResult[],
  argv: string[],
): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const path = join(RESULTS_DIR, file)
  const doc = { date: new Date().toISOString(), argv, machine: machine(), results }
  const options = (await resolveConfig(path)) ?? {}
  writeFileSync(path, await format(JSON.stringify(doc), { ...options, filepath: path }))
  return path
}

const temps = new Set<string>()
process.once('exit', () => {
  for (const path of temps) rmSync(path, { recursive: true, force: true })
})

/** A temporary directory removed by `dispose` (or at exit). */
export function tempDir(prefix: string): { path: string; dispose(): void } {
  const path = mkdtempSync(join(tmpdir(), `parley-bench-${prefix}-`))
  temps.add(path)
  const dispose = (): void => {
    temps.delete(path)
    rmSync(path, { recursive: true, force: true })
  }
  return { path, dispose }
}

export interface BenchOptions {
  quick: boolean
  /** Write CPU profiles of the peer processes here. */
  profileDir?: string
}

export function parseArgs(argv: readonly string[]): BenchOptions & { only: string[] } {
  const quick = argv.includes('--quick')
  const i = argv.indexOf('--profile')
  const profileDir = i >= 0 ? (argv[i + 1] ?? 'bench/profiles') : undefined
  const only = argv.filter((a, k) => !a.startsWith('--') && argv[k - 1] !== '--profile')
  return { quick, ...(profileDir === undefined ? {} : { profileDir }), only }
}
