/**
 * A short Jepsen-style run (the full one: `npm run chaos -- --schedules 100`): three `parley serve`
 * processes in network namespaces write while seeded schedules of partitions, loss, slow links,
 * delays, kill -9 and restarts (some with the clock 10 minutes off) run; after the last heal every message
 * any peer reported as sent must be on every peer, exactly once, in the same order. How fast they
 * agree is printed, not asserted (a shared CI machine; the 5 s bound is checked by the bench).
 * `PARLEY_SEED=<n>` replays one schedule. Needs root, iproute2, nftables and libfaketime.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSite, removeStaleSites, siteUnsupported, type Site } from './site.ts'
import { Hosts, skewUnsupported, unmountStale } from './hosts.ts'
import { runChaos, summarize } from './chaos.ts'
import { describeSchedule } from './schedule.ts'
import { testSeeds } from '../helpers/prng.ts'

const SEEDS = testSeeds(Date.now() % 1_000_000, 2)

describe('chaos: partitions, loss, delays, kills and skewed clocks on three hosts', () => {
  let site: Site | undefined
  let hosts: Hosts | undefined

  beforeAll(async () => {
    const why = siteUnsupported() ?? skewUnsupported()
    if (why !== undefined) throw new Error(`chaos.netns.test.ts ${why}`)
    removeStaleSites()
    unmountStale()
    site = createSite(3, { subnet: 2 })
    hosts = new Hosts(site)
    await hosts.start()
  }, 240_000)

  afterAll(async () => {
    try {
      await hosts?.stop()
    } finally {
      site?.remove()
    }
  })

  for (const seed of SEEDS) {
    it(`[CHAOS1] seed ${seed}: every message reported as sent is on every peer once, in one order`, async () => {
      const r = await runChaos(hosts!, seed, { durationMs: 10_000, maxWaitMs: 90_000 })
      console.log(summarize(r))
      const replay = `replay: PARLEY_SEED=${seed}, or npm run chaos -- --seed ${seed} --hosts 3 --duration 10`
      expect(r.verdict.problems, `${describeSchedule(r.steps)}\n${replay}`).toEqual([])
      expect(r.convergedMs, replay).toBeDefined()
      expect(r.verdict.acknowledged).toBeGreaterThan(0)
    }, 240_000)
  }
})
