/**
 * Runs one fuzz surface in a worker thread for the CLI (cli.ts), which watches it: the index of
 * the input in progress is in shared memory, so an input that never returns (or runs the worker
 * out of heap) is still named by seed and index when the CLI stops the worker.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import '../../src/node/polyfill.ts'
import { runSurface } from './engine.ts'
import { buildSurface, type SurfaceName } from './surfaces/index.ts'

export interface WorkerInit {
  name: SurfaceName
  seed: number
  inputs: number
  timeLimitMs: number
  /** [0]: index of the input in progress. */
  progress: SharedArrayBuffer
}

// gc() for the heap figures before and after (workers take no V8 flags on their command line)
setFlagsFromString('--expose-gc')
;(globalThis as { gc?: unknown }).gc = runInNewContext('gc')

const init = workerData as WorkerInit
const progress = new Int32Array(init.progress)
const surface = await buildSurface(init.name)
const stats = await runSurface(surface, {
  seed: init.seed,
  inputs: init.inputs,
  timeLimitMs: init.timeLimitMs,
  progressEvery: 1,
  onProgress: (i) => Atomics.store(progress, 0, i),
})
surface.close?.()
parentPort?.postMessage(stats)
