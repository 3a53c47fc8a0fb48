/**
 * One Jepsen-style run on a running {@link Hosts} site: every host writes to room `chaos-<seed>`
 * through its serve while the seeded schedule cuts, heals, shapes, kills and restarts; then every
 * link is healed and every host brought back, and the checker is asked, again and again, until it
 * is satisfied or `maxWaitMs` passes. The time from the last heal to a satisfied checker is the
 * convergence time (the claim: within 5 s).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { check, reportedSent, type SendRecord, type Verdict } from './checker.ts'
import type { Hosts } from './hosts.ts'
import { describeSchedule, makeSchedule, type Fault, type Step } from './schedule.ts'

export interface ChaosInit {
  /** @default 20_000 */
  durationMs?: number
  /** How long after the last heal the histories must agree. @default 5_000 */
  convergeMs?: number
  /** How long to keep checking after that, to tell "late" from "never". @default 60_000 */
  maxWaitMs?: number
  /** How long each send waits for a peer's acknowledgement. @default 2_000 */
  sendTimeoutMs?: number
  log?: (line: string) => void
}

export interface ChaosResult {
  seed: number
  steps: Step[]
  verdict: Verdict
  /** From the last heal (every host up and linked) to a satisfied checker; undefined: never. */
  convergedMs: number | undefined
  /** Whether the run passes: a satisfied checker within `convergeMs`. */
  ok: boolean
  sends: Record<SendRecord['outcome']['kind'], number>
  kills: number
  /** After the last heal, each change seen by a check: what each host lacked, whom it was linked to. */
  trace: string[]
}

export async function runChaos(
  hosts: Hosts,
  seed: number,
  init: ChaosInit = {},
): Promise<ChaosResult> {
  const log = init.log ?? (() => undefined)
  const durationMs = init.durationMs ?? 20_000
  const convergeMs = init.convergeMs ?? 5_000
  const maxWaitMs = init.maxWaitMs ?? 60_000
  const room = `chaos-${seed}`
  const steps = makeSchedule(seed, { hosts: hosts.size, durationMs })
  log(`seed ${seed}: ${steps.length} steps\n${describeSchedule(steps)}`)
  // Each schedule starts from a healthy site with true clocks.
  await resetSite(hosts)

  /** Operations on one host run one after the other (a kill waits for a restart in progress). */
  const queue = Array.from({ length: hosts.size }, () => Promise.resolve())
  const onHost = (i: number, op: () => Promise<void>): void => {
    queue[i] = queue[i]!.then(op).catch((err: unknown) => log(`h${i}: ${(err as Error).message}`))
  }
  const apply = (f: Fault): void => {
    const s = hosts.site
    switch (f.op) {
      case 'partition':
        return s.partition(f.groups)
      case 'isolate':
        return s.isolate(f.host)
      case 'heal':
        return s.heal()
      case 'shape':
        return s.shape(f.host, {
          lossPct: f.lossPct,
          ...(f.rateKbit === undefined ? {} : { rateKbit: f.rateKbit }),
          ...(f.delayMs === undefined ? {} : { delayMs: f.delayMs }),
          ...(f.jitterMs === undefined ? {} : { jitterMs: f.jitterMs }),
        })
      case 'unshape':
        return s.unshape(f.host)
      case 'kill':
        return onHost(f.host, () => hosts.kill(f.host))
      case 'restart':
        return onHost(f.host, async () => void (await hosts.restart(f.host, f.skewMin)))
    }
  }

  const sends: SendRecord[] = []
  let writing = true
  const writer = async (host: number, lane: number): Promise<void> => {
    for (let k = 0; writing; k++) {
      const text = `${room} h${host}.${lane} #${k}`
      const outcome = await hosts.send(host, room, text, init.sendTimeoutMs ?? 2_000)
      sends.push({ host, text, outcome })
      if (outcome.kind === 'unsent' || outcome.kind === 'refused') await sleep(200)
      else await sleep(50)
    }
  }
  const writers = Array.from({ length: hosts.size * 2 }, (_, w) => writer(w >> 1, w & 1))

  const start = Date.now()
  for (const { atMs, fault } of steps) {
    const wait = start + atMs - Date.now()
    if (wait > 0) await sleep(wait)
    apply(fault)
  }
  const rest = start + durationMs - Date.now()
  if (rest > 0) await sleep(rest)
  writing = false
  await Promise.all(writers)
  await Promise.all(queue)
  // The last heal: every link whole, every host up.
  hosts.site.heal()
  for (let i = 0; i < hosts.size; i++) hosts.site.unshape(i)
  await Promise.all(
    Array.from({ length: hosts.size }, async (_, i) => {
      if (!hosts.running(i)) await hosts.restart(i, 0)
    }),
  )
  const healed = Date.now()
  const ids = Array.from({ length: hosts.size }, (_, i) => hosts.served[i]?.peerId)
  const trace: string[] = [] // only the checks whose state differs from the one before
  let lastState = ''
  let verdict: Verdict
  let convergedMs: number | undefined
  for (;;) {
    const [histories, links] = await Promise.all([
      Promise.all(Array.from({ length: hosts.size }, (_, i) => hosts.read(i, room))),
      Promise.all(Array.from({ length: hosts.size }, (_, i) => hosts.links(i))),
    ])
    verdict = check(sends, histories)
    const since = Date.now() - healed
    const state = traceLine(sends, histories, links, ids)
    if (state !== lastState) trace.push(`+${since} ms ${state}`)
    lastState = state
    if (verdict.ok) {
      convergedMs = since
      break
    }
    if (since > maxWaitMs) break
    await sleep(250)
  }
  const count = (kind: SendRecord['outcome']['kind']): number =>
    sends.filter((s) => s.outcome.kind === kind).length
  const result: ChaosResult = {
    seed,
    steps,
    verdict,
    convergedMs,
    ok: convergedMs !== undefined && convergedMs <= convergeMs,
    sends: {
      delivered: count('delivered'),
      queued: count('queued'),
      refused: count('refused'),
      unsent: count('unsent'),
      unknown: count('unknown'),
    },
    kills: steps.filter((s) => s.fault.op === 'kill').length,
    trace,
  }
  return result
}

/**
 * Each host's state at one check: how many messages reported as sent it lacks, by the host that
 * sent them, and which hosts it has a connection to — `h2 lacks 14 (h0 9, h3 5) links h0,h1`.
 */
export function traceLine(
  sends: readonly SendRecord[],
  histories: readonly (readonly { id: string }[])[],
  links: readonly (readonly string[])[],
  peerIds: readonly (string | undefined)[],
): string {
  return histories
    .map((h, i) => {
      const held = new Set(h.map((m) => m.id))
      const by = new Map<number, number>()
      for (const s of reportedSent(sends))
        if (!held.has(s.outcome.id)) by.set(s.host, (by.get(s.host) ?? 0) + 1)
      const lacks = [...by.values()].reduce((a, n) => a + n, 0)
      const from = [...by].map(([k, n]) => `h${k} ${n}`).join(', ')
      const to = (links[i] ?? []).map((p) => {
        const k = peerIds.indexOf(p)
        return k < 0 ? p.slice(-6) : `h${k}`
      })
      return `h${i} lacks ${lacks}${lacks > 0 ? ` (${from})` : ''} links ${to.sort().join(',') || '-'}`
    })
    .join(' | ')
}

/** Heals every link and restarts every host whose clock is skewed (or that is down) with a true one. */
async function resetSite(hosts: Hosts): Promise<void> {
  hosts.site.heal()
  for (let i = 0; i < hosts.size; i++) hosts.site.unshape(i)
  await Promise.all(
    Array.from({ length: hosts.size }, async (_, i) => {
      if (hosts.running(i) && hosts.skewMin[i] === 0) return
      await hosts.kill(i)
      await hosts.restart(i, 0)
    }),
  )
}

/** One line: the seed, what was sent, the verdict. */
export function summarize(r: ChaosResult): string {
  const v = r.verdict
  const conv = r.convergedMs === undefined ? 'never converged' : `converged in ${r.convergedMs} ms`
  return (
    `seed ${r.seed}: ${r.ok ? 'PASS' : 'FAIL'} — ${v.acknowledged} reported sent ` +
    `(${r.sends.delivered} delivered, ${r.sends.queued} queued), ${r.sends.unsent + r.sends.refused} not sent, ` +
    `${r.sends.unknown} cut off; ${r.kills} kills; ${conv}; lost ${v.lost}, duplicates ${v.duplicates}, ` +
    `same order ${v.sameOrder ? 'yes' : 'no'}` +
    (v.problems.length > 0 ? `\n  ${v.problems.join('\n  ')}` : '')
  )
}
