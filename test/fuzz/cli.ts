/**
 * `npm run fuzz`: every decoder that reads bytes from the network or disk, 1,000,000 seeded inputs
 * per surface (docs/reliability.md, "Fuzzing"). Each surface runs in a worker thread with a heap
 * cap; a worker whose input does not return within the watchdog, or that runs out of heap, is a
 * finding too. Findings are written to test/fuzz/findings/ and printed with their seed and index;
 * the exit code is 1 if there are any.
 *
 * npm run fuzz -- [--inputs N] [--seed S] [--surface a,b] [--time-limit SECONDS per surface]
 *                  [--jobs N surfaces at once] [--replay SURFACE:SEED:INDEX]
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'
import '../../src/node/polyfill.ts'
import { inputAt, type Finding, type SurfaceStats } from './engine.ts'
import { SURFACES, buildSurface, type SurfaceName } from './surfaces/index.ts'
import type { WorkerInit } from './worker.ts'

/** An input still running after this long is a hang even if it never returns. */
const WATCHDOG_MS = 30_000
/** Heap cap of each worker: a decoder that needs more for one input is a finding. */
const WORKER_HEAP_MB = 1024

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({
  options: {
    inputs: { type: 'string', default: '1000000' },
    seed: { type: 'string' },
    surface: { type: 'string' },
    'time-limit': { type: 'string', default: '600' },
    jobs: { type: 'string', default: '1' },
    replay: { type: 'string' },
  },
})

if (values.replay !== undefined) {
  const [name, seed, index] = values.replay.split(':')
  const surface = await buildSurface(name as SurfaceName)
  const input = inputAt(surface, Number(seed), Number(index))
  console.log(`input ${index} of ${name}, seed ${seed}: ${Buffer.from(input).toString('hex')}`)
  const t0 = performance.now()
  try {
    console.log('outcome:', await surface.run(input))
  } catch (err) {
    console.log('threw:', err)
  }
  console.log(`${(performance.now() - t0).toFixed(1)} ms`)
  surface.close?.()
  process.exit(0)
}

const inputs = Number(values.inputs)
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed)
const timeLimitMs = Number(values['time-limit']) * 1000
const chosen = (values.surface?.split(',') ?? SURFACES) as SurfaceName[]
for (const name of chosen) if (!SURFACES.includes(name)) throw new Error(`no surface ${name}`)

/** Runs one surface in a watched worker. */
async function runInWorker(name: SurfaceName): Promise<SurfaceStats | Finding> {
  const progress = new SharedArrayBuffer(4)
  const index = new Int32Array(progress)
  index[0] = -1 // the watchdog starts with the first input, not while the surface is built
  const init: WorkerInit = { name, seed, inputs, timeLimitMs, progress }
  const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), {
    workerData: init,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
  })
  const fail = async (kind: Finding['kind'], detail: string): Promise<Finding> => {
    const at = Math.max(0, Atomics.load(index, 0))
    const surface = await buildSurface(name)
    const input = inputAt(surface, seed, at)
    surface.close?.()
    return { surface: name, seed, index: at, kind, detail, input }
  }
  return new Promise((resolve) => {
    let last = -1
    let since = performance.now()
    const watchdog = setInterval(() => {
      const at = Atomics.load(index, 0)
      if (at < 0 || at !== last) {
        last = at
        since = performance.now()
      } else if (performance.now() - since > WATCHDOG_MS) {
        clearInterval(watchdog)
        void worker.terminate()
        void fail('hang', `input still running after ${WATCHDOG_MS} ms`).then(resolve)
      }
    }, 250)
    worker.once('message', (stats: SurfaceStats) => {
      clearInterval(watchdog)
      resolve(stats)
    })
    worker.once('error', (err: Error & { code?: string }) => {
      clearInterval(watchdog)
      const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY'
      void fail('crash', oom ? `out of memory (${WORKER_HEAP_MB} MB heap)` : String(err)).then(
        resolve,
      )
    })
  })
}

function save(f: Finding): string {
  const file = join(here, 'findings', f.surface, `${f.kind}-${f.seed}-${f.index}.bin`)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, f.input)
  return file
}

console.log(
  `parley fuzz: seed ${seed}, ${inputs.toLocaleString('en')} inputs per surface, ≤ ${timeLimitMs / 1000} s each, ${values.jobs} at once, hang: over 100 ms of CPU`,
)
const rows: SurfaceStats[] = []
const findings: Finding[] = []
function report(name: SurfaceName, r: SurfaceStats | Finding): void {
  if ('kind' in r) {
    findings.push(r)
    console.log(`${name.padEnd(17)} STOPPED at input ${r.index}: ${r.kind}: ${r.detail}`)
    return
  }
  rows.push(r)
  findings.push(...r.findings)
  const short =
    r.inputs < r.planned ? ` (time limit: ${r.planned.toLocaleString('en')} planned)` : ''
  console.log(
    [
      name.padEnd(17),
      `${r.inputs.toLocaleString('en').padStart(10)} inputs${short}`,
      `${r.seconds.toFixed(1).padStart(6)} s`,
      `${Math.round(r.perSecond).toLocaleString('en').padStart(7)}/s`,
      `max ${r.maxCpuMs.toFixed(1).padStart(5)} ms CPU (#${r.maxIndex}), ${r.maxMs.toFixed(0)} ms wall`,
      `slow once ${r.slowOnce}`,
      `heap ${r.heapBeforeMb.toFixed(1)} → ${r.heapAfterMb.toFixed(1)} MB`,
      `findings ${r.findings.length}`,
    ].join('  '),
  )
  console.log(`${''.padEnd(19)}${JSON.stringify(r.outcomes)}`)
}
const queue = [...chosen]
await Promise.all(
  Array.from({ length: Math.max(1, Number(values.jobs)) }, async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      report(name, await runInWorker(name))
    }
  }),
)
for (const f of findings) {
  console.log(
    `FINDING ${f.surface} seed ${f.seed} input ${f.index} (${f.kind}): ${f.detail}\n  saved ${save(f)}; replay: npm run fuzz -- --replay ${f.surface}:${f.seed}:${f.index}`,
  )
}
const total = rows.reduce((n, r) => n + r.inputs, 0)
console.log(
  `${total.toLocaleString('en')} inputs on ${rows.length} surfaces, ${findings.length} findings, most CPU for one input ${Math.max(...rows.map((r) => r.maxCpuMs)).toFixed(1)} ms`,
)
process.exitCode = findings.length > 0 ? 1 : 0
