/**
 * A bench peer process: `fork`ed by a bench driver (bench/lib/proc.ts), builds one Parley peer and
 * runs the driver's commands (bench/lib/protocol.ts) until told to stop.
 */
import '../src/node/polyfill.ts'
import type { Cmd, Commands, Request, Response } from './lib/protocol.ts'
import { startBenchPeer, type BenchPeer } from './peer/node.ts'
import { flood, newest, report, send, track, waitTopic, watch } from './peer/live.ts'
import { catchup, coldLoad, memSample } from './peer/history.ts'
import { loadCheck, loadSend, loadWait, loadWatch } from './peer/load.ts'

const name = process.argv[2] ?? 'peer'
/** The peers this process runs, by slot (one, slot 0, unless bench/load.ts runs several here). */
const peers = new Map<number, BenchPeer>()

const need = (slot: number): BenchPeer => {
  const peer = peers.get(slot)
  if (peer === undefined) throw new Error(`no peer in slot ${slot}: send start first`)
  return peer
}

const fresh = (slot: number): void => {
  if (peers.has(slot)) throw new Error(`slot ${slot} already started`)
}

type Handlers = {
  [C in Cmd]: (args: Commands[C]['args'], slot: number) => Promise<Commands[C]['result']>
}

const handlers: Handlers = {
  async start(args, slot) {
    fresh(slot)
    const peer = await startBenchPeer(args)
    peers.set(slot, peer)
    return peer.info
  },
  async dial({ addr }, slot) {
    const t0 = performance.now()
    // A dial can lose a race with the other side's identify/connection pruning under load: retry.
    for (let attempt = 1; ; attempt++) {
      try {
        await need(slot).net.dial(addr)
        break
      } catch (err) {
        if (attempt >= 5) throw err
        console.error(`[${name}] dial ${addr} failed (attempt ${attempt}): ${describe(err)}`)
        await new Promise((r) => setTimeout(r, 200 * attempt))
      }
    }
    return { ms: performance.now() - t0 }
  },
  waitTopic: (args, slot) => waitTopic(need(slot), args),
  send: (args, slot) => send(need(slot), args),
  watch: (args, slot) => watch(need(slot), args),
  report: (args, slot) => report(need(slot), args),
  flood: (args, slot) => flood(need(slot), args),
  track: (args, slot) => track(need(slot), args),
  newest: (args, slot) => newest(need(slot), args),
  catchup: (args, slot) => catchup(need(slot), args),
  async coldLoad(args, slot) {
    fresh(slot)
    const loaded = await coldLoad(args)
    peers.set(slot, loaded.peer)
    return loaded.result
  },
  loadSend: (args, slot) => loadSend(need(slot), args),
  loadWatch: (args, slot) => loadWatch(need(slot), args),
  loadWait: (args, slot) => loadWait(need(slot), args),
  loadCheck: (args, slot) => loadCheck(need(slot), args),
  mem: async () => memSample(),
  timings: async (_args, slot) => need(slot).timings.take(),
  async cpu() {
    const { user, system } = process.cpuUsage()
    return { ms: (user + system) / 1000 }
  },
  // Handled in the message listener: a stop without a slot ends the process.
  async stop(_args, slot) {
    await peers.get(slot)?.stop()
    peers.delete(slot)
    return {}
  },
}

const stopAllPeers = async (): Promise<void> => {
  const all = [...peers.values()]
  peers.clear()
  await Promise.all(all.map((p) => p.stop()))
}

/** The error and its causes, one per line. */
function describe(err: unknown): string {
  const parts: string[] = []
  for (
    let e: unknown = err;
    e !== undefined && parts.length < 5;
    e = (e as { cause?: unknown }).cause
  )
    parts.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e))
  return parts.join('\n  caused by ')
}

function reply(res: Response, then?: () => void): void {
  process.send?.(res, undefined, {}, () => then?.())
}

process.on('message', (req: Request) => {
  const run = handlers[req.cmd] as (args: unknown, slot: number) => Promise<unknown>
  const exits = req.cmd === 'stop' && req.slot === undefined
  const done = exits ? stopAllPeers().then(() => ({})) : run(req.args, req.slot ?? 0)
  done.then(
    (result) => reply({ id: req.id, ok: true, result }, exits ? () => process.exit(0) : undefined),
    (err: unknown) => {
      const error = describe(err)
      reply({ id: req.id, ok: false, error })
    },
  )
})

// The driver going away (or its channel closing) ends this peer too.
process.on('disconnect', () => {
  void stopAllPeers().finally(() => process.exit(0))
})
process.on('uncaughtException', (err) => {
  console.error(`[${name}] uncaught:`, err)
})
