/**
 * Crash durability: an always-on peer (`parley serve`, a real process) is killed with SIGKILL at
 * seeded random moments while writers keep sending through its control API (the client the CLI's
 * `send` uses), then restarted on the same data directory, again and again. After every restart
 * its history must hold every message a send reported as sent (200 delivered, or 504 stored and
 * queued) exactly once; at the end a second peer, to which the sends were delivered, must agree.
 * Runs in the host's network namespace on loopback, mDNS off.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { CliHarness, Served } from '../helpers/cli.ts'
import { seededPrng } from '../helpers/prng.ts'
import { callControl, findControl } from '../../src/node/control.ts'
import type { HistoryLine } from '../../src/node/output.ts'
import { check, type SendRecord, type Verdict } from './checker.ts'
import type { SendOutcome } from './hosts.ts'

export interface CrashInit {
  kills: number
  seed: number
  /** Longest time a serve runs (after 'ready') before its kill. @default 3_000 */
  maxUpMs?: number
  /** Writers sending at once. @default 4 */
  writers?: number
  log?: (line: string) => void
}

export interface CrashResult {
  seed: number
  kills: number
  verdict: Verdict
  /** Sends cut off by a kill (no answer: may or may not be stored). */
  cutOff: number
  /** Sends that found no serve (between a kill and the restart). */
  unsent: number
  /** Mean time from kill to the restarted serve's 'ready', ms. */
  restartMs: number
  /** First restart after which a reported message was missing, if any. */
  firstLossAfterKill: number | undefined
}

async function sendVia(dir: string, room: string, text: string): Promise<SendOutcome> {
  const info = findControl(dir)
  if (info === undefined) return { kind: 'unsent', why: 'NOSERVE' }
  try {
    // A short wait for the acknowledgement: a send answers 504 (stored, queued) rather than be
    // cut off by the next kill, so most sends end reported as sent one way or the other.
    const res = await callControl(info, 'send', { body: { room, text, timeoutMs: 500 } })
    const body = (await res.json()) as { id?: string; error?: string }
    if (res.status === 200 && body.id !== undefined) return { kind: 'delivered', id: body.id }
    if (res.status === 504 && body.id !== undefined) return { kind: 'queued', id: body.id }
    return { kind: 'refused', why: `${res.status} ${body.error ?? ''}` }
  } catch (err) {
    const code = (err as { cause?: { cause?: { code?: string } } }).cause?.cause?.code
    return code === 'ECONNREFUSED'
      ? { kind: 'unsent', why: code }
      : { kind: 'unknown', why: (err as Error).message }
  }
}

async function history(s: Served, room: string): Promise<HistoryLine[]> {
  const info = findControl(s.dir)
  if (info === undefined) throw new Error('no serve')
  const res = await callControl(info, `read?room=${room}`)
  if (!res.ok) throw new Error(`read: ${res.status}`)
  return (await res.json()) as HistoryLine[]
}

export async function runCrashes(h: CliHarness, init: CrashInit): Promise<CrashResult> {
  const rnd = seededPrng(init.seed)
  const log = init.log ?? (() => undefined)
  const room = `crash-${init.seed}`
  const dirA = h.tmpDir()
  const slow = { readyMs: 120_000 } // a loaded 2-core machine can take long to start a serve
  let a = await h.serve(dirA, [], slow)
  const b = await h.serve(await h.joined(a), ['--peer', a.addr], slow)
  await a.stop()
  const sends: SendRecord[] = []
  let writing = true
  const writer = async (lane: number): Promise<void> => {
    for (let k = 0; writing; k++) {
      const text = `${room} w${lane} #${k}`
      const outcome = await sendVia(dirA, room, text)
      sends.push({ host: 0, text, outcome })
      if (outcome.kind === 'unsent') await sleep(100)
    }
  }
  let restartTotal = 0
  let firstLoss: number | undefined
  let verdict: Verdict | undefined
  const writers: Promise<void>[] = []
  for (let kill = 1; kill <= init.kills; kill++) {
    const t0 = Date.now()
    a = await h.serve(dirA, ['--peer', b.addr], slow)
    restartTotal += Date.now() - t0
    // Every message reported as sent so far must be here, once (checked before new writes land).
    const settled = sends.slice() // sends answered by now (later ones may land during the read)
    verdict = check(settled, [await history(a, room)])
    if (!verdict.ok && firstLoss === undefined) {
      firstLoss = kill - 1
      log(`after kill ${kill - 1}: ${verdict.problems.join('; ')}`)
    }
    if (writers.length === 0) for (let w = 0; w < (init.writers ?? 4); w++) writers.push(writer(w))
    await sleep(rnd.int(init.maxUpMs ?? 3_000))
    await a.stop('SIGKILL')
    if (kill % 10 === 0 || kill === init.kills)
      log(`${kill} kills, ${sends.filter((s) => s.outcome.kind === 'delivered').length} delivered`)
  }
  writing = false
  await Promise.all(writers)
  a = await h.serve(dirA, ['--peer', b.addr], slow)
  const final = check(sends, [await history(a, room)])
  if (!final.ok && firstLoss === undefined) firstLoss = init.kills
  // The other peer ends with the same history once the restarted serve hands over what it queued.
  let both = check(sends, [await history(a, room), await history(b, room)])
  for (let i = 0; i < 240 && !both.ok; i++) {
    await sleep(250)
    both = check(sends, [await history(a, room), await history(b, room)])
  }
  verdict = final.ok ? both : final
  const count = (kind: SendOutcome['kind']): number =>
    sends.filter((s) => s.outcome.kind === kind).length
  return {
    seed: init.seed,
    kills: init.kills,
    verdict,
    cutOff: count('unknown'),
    unsent: count('unsent'),
    restartMs: Math.round(restartTotal / init.kills),
    firstLossAfterKill: firstLoss,
  }
}
