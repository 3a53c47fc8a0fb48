/**
 * [CRASH1] 20 kill -9 of `parley serve` at seeded random moments while four writers send through
 * it: after every restart it holds every message a send reported as sent, once; the peer the sends
 * were delivered to ends with the same history. The bench runs 1,000: `npm run bench:crash`.
 * `PARLEY_SEED=<n>` replays.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { CliHarness } from '../helpers/cli.ts'
import { testSeeds } from '../helpers/prng.ts'
import { runCrashes } from './crash.ts'

const [SEED] = testSeeds(Date.now() % 1_000_000, 1)

describe('crash durability of serve', () => {
  const h = new CliHarness()
  afterAll(() => h.cleanup())

  it(`[CRASH1] 20 kill -9 mid-write lose no message reported as sent (seed ${SEED})`, async () => {
    const r = await runCrashes(h, { kills: 20, seed: SEED!, log: console.log })
    console.log(
      `seed ${SEED}: ${r.verdict.acknowledged} reported sent, ${r.cutOff} cut off, ` +
        `restart ${r.restartMs} ms mean`,
    )
    expect(r.verdict.problems, `seed ${SEED}`).toEqual([])
    expect(r.verdict.acknowledged).toBeGreaterThan(20)
    expect(r.cutOff, 'some sends were in flight at a kill').toBeGreaterThan(0)
  }, 1_200_000)
})
