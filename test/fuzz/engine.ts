/**
 * The fuzz loop shared by `npm run fuzz` (test/fuzz/cli.ts) and the CI test (fuzz.test.ts): feeds a
 * surface's decoder seeded inputs and records what it did with each.
 *
 * A finding is an input on which the surface threw anything but one of its documented named errors
 * (a crash), broke one of its invariants (the surface throws {@link InvariantError}), or took more
 * than {@link HANG_MS} on each of {@link RETRIES} + 1 runs (a hang: one slow run on a busy machine
 * may be a GC pause or the scheduler, a slow input is slow every time).
 */
import type { Prng } from '../helpers/prng.ts'
import { inputPrng, mutate, noise } from './mutate.ts'

/** An input taking longer than this, every time it runs, is a hang (issue #6: "zero hangs over 100 ms"). */
export const HANG_MS = 100
/** Re-runs of an input that took over {@link HANG_MS} before it counts as a hang. */
export const RETRIES = 3

/** One decoder (or a decoder and what consumes its output) fed untrusted bytes. */
export interface Surface {
  /** Short kebab-case name (`--surface` selects it). */
  readonly name: string
  /** What it drives, and where such bytes come from. */
  readonly description: string
  /** `err.name` of the rejections the code documents: anything else thrown is a crash. */
  readonly allowed: readonly string[]
  /** Valid inputs to mutate, and crafted ones (run unmutated first). */
  readonly seeds: readonly Uint8Array[]
  /** A structure-aware input (valid or nearly), if the surface has a generator. */
  generate?(rand: Prng): Uint8Array
  /**
   * Feeds one input; returns an outcome label (`'ok'`, `'rejected'`, …). Throws what the decoder
   * throws, or an {@link InvariantError}.
   */
  run(input: Uint8Array): string | Promise<string>
  /** Releases what the surface holds (documents, timers). */
  close?(): void
}

/** An invariant of a surface broke (document changed after a rejection, round trip differs, …). */
export class InvariantError extends Error {
  static override name = 'InvariantError'
  constructor(message: string) {
    super(message)
    this.name = 'InvariantError'
  }
}

/** An input that crashed, broke an invariant or hung. */
export interface Finding {
  surface: string
  seed: number
  index: number
  kind: 'crash' | 'invariant' | 'hang'
  /** `err.name: err.message`, or the times taken. */
  detail: string
  input: Uint8Array
}

/** What one run of a surface measured. */
export interface SurfaceStats {
  surface: string
  seed: number
  inputs: number
  /** Inputs planned; fewer ran if the time budget ran out first. */
  planned: number
  seconds: number
  perSecond: number
  /** Longest wall time of an input (ms; includes time the machine ran others). */
  maxMs: number
  /** Most CPU time of an input (ms), and its index. */
  maxCpuMs: number
  maxIndex: number
  /** Inputs over the hang limit (CPU) once that ran under it on a re-run (noise, not hangs). */
  slowOnce: number
  heapBeforeMb: number
  heapAfterMb: number
  outcomes: Record<string, number>
  findings: Finding[]
}

export interface RunOptions {
  seed: number
  inputs: number
  /** Stop after this long even if fewer inputs ran. */
  timeLimitMs?: number
  /** Called every ~`progressEvery` inputs with the index reached (workers report progress). */
  onProgress?: (index: number) => void
  progressEvery?: number
  /** Stop at the first finding. */
  stopAtFirst?: boolean
  /** Slower than this on every run is a hang. @default HANG_MS */
  hangMs?: number
}

/**
 * Input `index` of a run seeded `seed`: the seeds unmutated first, then mostly mutations of seeds,
 * some structure-aware inputs and some noise. Deterministic in `(seed, index)`.
 */
export function inputAt(surface: Surface, seed: number, index: number): Uint8Array {
  const { seeds } = surface
  if (index < seeds.length) return seeds[index]!
  const rand = inputPrng(seed, index)
  const roll = rand.next()
  if (surface.generate !== undefined && roll < 0.15) {
    const g = surface.generate(rand)
    return rand.bool(0.5) ? g : mutate(rand, g, seeds)
  }
  if (roll < 0.22 || seeds.length === 0) return noise(rand)
  return mutate(rand, rand.pick(seeds), seeds)
}

const heapMb = (): number => process.memoryUsage().heapUsed / 1024 / 1024

/** Runs `gc()` if the process exposes it (node --expose-gc; the CLI's workers do). */
function collect(): void {
  const g = (globalThis as { gc?: () => void }).gc
  g?.()
}

/** CPU time of this process so far, in ms (the worker's thread does nearly all of it). */
function cpuMs(): number {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}

interface One {
  outcome: string
  /** Wall time and CPU time (ms): hangs are judged on CPU time, which a loaded machine's scheduler does not inflate. */
  ms: number
  cpu: number
  error?: { kind: 'crash' | 'invariant'; detail: string }
}

/** Runs one input: its outcome (or the finding it is) and the time taken. */
async function runOne(surface: Surface, input: Uint8Array): Promise<One> {
  const c0 = cpuMs()
  const t0 = performance.now()
  const took = (): { ms: number; cpu: number } => ({
    ms: performance.now() - t0,
    cpu: cpuMs() - c0,
  })
  try {
    const r = surface.run(input)
    const outcome = typeof r === 'string' ? r : await r
    return { outcome, ...took() }
  } catch (err) {
    const t = took()
    const name = err instanceof Error ? err.name : typeof err
    if (surface.allowed.includes(name)) return { outcome: name, ...t }
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    const kind = err instanceof InvariantError ? 'invariant' : 'crash'
    return { outcome: kind, ...t, error: { kind, detail } }
  }
}

/** Fuzzes `surface` with `options.inputs` inputs (or until the time limit); never throws on a finding. */
export async function runSurface(surface: Surface, options: RunOptions): Promise<SurfaceStats> {
  const { seed, inputs } = options
  const hangMs = options.hangMs ?? HANG_MS
  const every = options.progressEvery ?? 1000
  const outcomes: Record<string, number> = {}
  const findings: Finding[] = []
  let maxMs = 0
  let maxCpuMs = 0
  let maxIndex = -1
  let slowOnce = 0
  // a handler that leaves a rejected promise behind crashes a Node peer (unhandled rejection)
  const rejections: unknown[] = []
  const onRejection = (reason: unknown): void => void rejections.push(reason)
  process.on('unhandledRejection', onRejection)
  // rejections throw named errors by the thousand: their stacks are most of their cost, and a
  // finding replays with its stack (`npm run fuzz -- --replay`)
  const stackTraceLimit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  collect()
  const heapBeforeMb = heapMb()
  const t0 = performance.now()
  const deadline = options.timeLimitMs === undefined ? Infinity : t0 + options.timeLimitMs
  let i = 0
  for (; i < inputs; i++) {
    if (i % every === 0) {
      options.onProgress?.(i)
      if (performance.now() > deadline) break
    }
    const input = inputAt(surface, seed, i)
    let r = await runOne(surface, input)
    if (r.error === undefined && r.cpu > hangMs) {
      // slow once: a hang only if it is slow every time
      const times = [r.cpu]
      for (let k = 0; k < RETRIES && r.cpu > hangMs; k++) {
        r = await runOne(surface, input)
        times.push(r.cpu)
      }
      if (r.cpu > hangMs) {
        const detail = `over ${hangMs} ms of CPU on every run: ${times.map((t) => t.toFixed(1)).join(', ')} ms`
        r = { ...r, error: { kind: 'invariant', detail } }
        findings.push({ surface: surface.name, seed, index: i, kind: 'hang', detail, input })
      } else slowOnce++
    } else if (r.error !== undefined) {
      findings.push({ surface: surface.name, seed, index: i, ...r.error, input })
    } else if (rejections.length > 0) {
      const detail = `unhandled rejection: ${String(rejections.splice(0).join('; '))}`
      findings.push({ surface: surface.name, seed, index: i, kind: 'crash', detail, input })
      r = { ...r, outcome: 'crash' }
    }
    outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1
    if (r.cpu > maxCpuMs) {
      maxCpuMs = r.cpu
      maxIndex = i
    }
    maxMs = Math.max(maxMs, r.ms)
    if (findings.length > 0 && options.stopAtFirst === true) {
      i++
      break
    }
  }
  const seconds = (performance.now() - t0) / 1000
  process.off('unhandledRejection', onRejection)
  Error.stackTraceLimit = stackTraceLimit
  collect()
  return {
    surface: surface.name,
    seed,
    inputs: i,
    planned: inputs,
    seconds,
    perSecond: i / seconds,
    maxMs,
    maxCpuMs,
    maxIndex,
    slowOnce,
    heapBeforeMb,
    heapAfterMb: heapMb(),
    outcomes,
    findings,
  }
}
