/**
 * A bench peer process: `fork`ed by a bench driver (bench/lib/proc.ts), builds one Parley peer —
 * or several, one per slot (`PeerSlot`), each with its own store, identity and libp2p node — and
 * runs the driver's commands (bench/lib/protocol.ts) until its last peer is told to stop.
 */
import '../src/node/polyfill.ts'
import type { Cmd, Commands, Request, Response } from './lib/protocol.ts'
import { startBenchPeer, type BenchPeer } from './peer/node.ts'
import { flood, newest, report, send, track, waitTopic, watch } from './peer/live.ts'
import { catchup, coldLoad, memSample } from './peer/history.ts'
import { loadCheck, loadSend, loadWait, loadWatch } from './peer/load.ts'

const name = process.argv[2] ?? 'peer'
/** This process's peers by slot. */
const peers = new Map<number, BenchPeer>()
/**
 * Slots being started or stopped: a second `start` of one is refused while the first runs, and the
 * process does not end while a peer is still stopping.
 */
const busy = new Set<number>()

const needOf = (slot: number): BenchPeer => {
  const peer = peers.get(slot)
  if (peer === undefined) throw new Error(`no peer in slot ${slot}: send start first`)
  return peer
}

/** Builds the peer of `slot` with `make`, and returns what `make` returned. */
async function startIn<T extends { peer: BenchPeer }>(
  slot: number,
  make: () => Promise<T>,
): Promise<T> {
  if (peers.has(slot) || busy.has(slot)) throw new Error(`slot ${slot} already started`)
  busy.add(slot)
  try {
    const made = await make()
    peers.set(slot, made.peer)
    return made
  } finally {
    busy.delete(slot)
  }
}

type Handler<C extends Cmd> = (
  args: Commands[C]['args'],
  slot: number,
) => Promise<Commands[C]['result']>

const handlers: { [C in Cmd]: Handler<C> } = {
  start: async (args, slot) =>
    (await startIn(slot, async () => ({ peer: await startBenchPeer(args) }))).peer.info,
  async dial({ addr }, slot) {
    const t0 = performance.now()
    // A dial can lose a race with the other side's identify/connection pruning under load: retry.
    for (let attempt = 1; ; attempt++) {
      try {
        await needOf(slot).net.dial(addr)
        break
      } catch (err) {
        if (attempt >= 5) throw err
        console.error(`[${name}] dial ${addr} failed (attempt ${attempt}): ${describe(err)}`)
        await new Promise((r) => setTimeout(r, 200 * attempt))
      }
    }
    return { ms: performance.now() - t0 }
  },
  waitTopic: (args, slot) => waitTopic(needOf(slot), args),
  send: (args, slot) => send(needOf(slot), args),
  watch: (args, slot) => watch(needOf(slot), args),
  report: (args, slot) => report(needOf(slot), args),
  flood: (args, slot) => flood(needOf(slot), args),
  track: (args, slot) => track(needOf(slot), args),
  newest: (args, slot) => newest(needOf(slot), args),
  catchup: (args, slot) => catchup(needOf(slot), args),
  coldLoad: async (args, slot) => (await startIn(slot, () => coldLoad(args))).result,
  loadSend: (args, slot) => loadSend(needOf(slot), args),
  loadWatch: (args, slot) => loadWatch(needOf(slot), args),
  loadWait: (args, slot) => loadWait(needOf(slot), args),
  loadCheck: (args, slot) => loadCheck(needOf(slot), args),
  // Memory and CPU are the process's, whichever slot asks.
  mem: async () => memSample(),
  timings: async (_args, slot) => needOf(slot).timings.take(),
  async cpu() {
    const { user, system } = process.cpuUsage()
    return { ms: (user + system) / 1000 }
  },
  async stop(_args, slot) {
    const peer = peers.get(slot)
    peers.delete(slot)
    busy.add(slot)
    try {
      await peer?.stop()
    } finally {
      busy.delete(slot)
    }
    return {}
  },
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
  run(req.args, req.slot ?? 0).then(
    (result) =>
      reply(
        { id: req.id, ok: true, result },
        // The process ends with its last peer.
        req.cmd === 'stop' && peers.size === 0 && busy.size === 0
          ? () => process.exit(0)
          : undefined,
      ),
    (err: unknown) => {
      const error = describe(err)
      reply({ id: req.id, ok: false, error })
    },
  )
})

// The driver going away (or its channel closing) ends this peer too.
process.on('disconnect', () => {
  void Promise.allSettled([...peers.values()].map((p) => p.stop())).finally(() => process.exit(0))
})
process.on('uncaughtException', (err) => {
  console.error(`[${name}] uncaught:`, err)
})
