/**
 * CI's share of `npm run fuzz` (docs/reliability.md, "Fuzzing"): every surface, 10,000 seeded
 * inputs each, no crash, no broken invariant, no hang; and every input
 * of the findings corpus (test/fuzz/corpus/<surface>/) runs clean. `PARLEY_SEED=<n>` replays a seed.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { testSeeds } from '../helpers/prng.ts'
import { HANG_MS } from '../helpers/limits.ts'
import { runSurface, type SurfaceStats } from './engine.ts'
import { SURFACES, buildSurface } from './surfaces/index.ts'

const INPUTS = 10_000
const [SEED] = testSeeds(2026, 1) as [number]
const CORPUS = join(import.meta.dirname, 'corpus')
const rows: SurfaceStats[] = []

describe(`fuzz: ${INPUTS.toLocaleString('en')} inputs per surface, seed ${SEED}`, () => {
  for (const name of SURFACES) {
    it(`[FUZZ] ${name}: no crash, no broken invariant, no hang`, async () => {
      const surface = await buildSurface(name)
      // a hang here is the project's hang detector (limits.ts), with room for a loaded CI machine;
      // `npm run fuzz` holds every input to 100 ms
      const stats = await runSurface(surface, { seed: SEED, inputs: INPUTS, hangMs: HANG_MS })
      surface.close?.()
      rows.push(stats)
      const found = stats.findings.map(
        (f) =>
          `${f.kind} at input ${f.index} (replay: npm run fuzz -- --replay ${name}:${f.seed}:${f.index}): ${f.detail}`,
      )
      expect(found, `surface ${name}, seed ${SEED}`).toEqual([])
      expect(stats.inputs).toBe(INPUTS)
    })
  }

  it('[FUZZ-CORPUS] every saved finding runs clean', async () => {
    const dirs = readdirSync(CORPUS)
    expect(dirs.length).toBeGreaterThan(0)
    for (const name of dirs) {
      const surface = await buildSurface(name as (typeof SURFACES)[number])
      const files = readdirSync(join(CORPUS, name))
      const corpus = { ...surface, seeds: files.map((f) => readFileSync(join(CORPUS, name, f))) }
      const stats = await runSurface(corpus, { seed: SEED, inputs: files.length })
      surface.close?.()
      expect(stats.findings.map((f) => `${name}/${files[f.index]}: ${f.detail}`)).toEqual([])
    }
  })

  afterAll(() => {
    for (const r of rows) {
      console.log(
        `${r.surface.padEnd(17)} ${Math.round(r.perSecond)}/s, max ${r.maxCpuMs.toFixed(1)} ms CPU, heap ${r.heapBeforeMb.toFixed(1)} → ${r.heapAfterMb.toFixed(1)} MB`,
      )
    }
  })
})
