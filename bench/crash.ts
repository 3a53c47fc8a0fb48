/**
 * Crash durability of the always-on peer (issue #6 §3): `parley serve` killed with SIGKILL at
 * seeded random moments mid-write, restarted on the same directory, N times; no message a send
 * reported as sent may be lost (test/hosts/crash.ts). Loopback only, no root needed.
 *
 *   npm run bench:crash                      # 1,000 kills
 *   npm run bench:crash -- --kills 50 --seed 7
 */
import { parseArgs } from 'node:util'
import { loadavg } from 'node:os'
import { CliHarness } from '../test/helpers/cli.ts'
import { runCrashes } from '../test/hosts/crash.ts'

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '1000' },
    seed: { type: 'string' },
    'max-up': { type: 'string', default: '3000' },
  },
})
const seed = Number(values.seed ?? Date.now() % 1_000_000)
const h = new CliHarness()
const t0 = Date.now()
let code: number
try {
  const r = await runCrashes(h, {
    kills: Number(values.kills),
    seed,
    maxUpMs: Number(values['max-up']),
    log: (l) =>
      console.log(
        `${l} (${Math.round((Date.now() - t0) / 1000)} s, load ${loadavg()[0]!.toFixed(1)})`,
      ),
  })
  const v = r.verdict
  console.log(
    `crash: seed ${seed}, ${r.kills} kill -9 mid-write: ${v.acknowledged} reported sent, lost ${v.lost}, ` +
      `duplicates ${v.duplicates}; ${r.cutOff} cut off by a kill, ${r.unsent} found no serve; ` +
      `restart to ready ${r.restartMs} ms mean; ${Math.round((Date.now() - t0) / 1000)} s` +
      (v.ok
        ? ''
        : `\n  ${v.problems.join('\n  ')}\n  first loss after kill ${r.firstLossAfterKill}`),
  )
  code = v.ok ? 0 : 1
} finally {
  await h.cleanup()
}
process.exit(code)
