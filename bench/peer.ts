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
let peer: BenchPeer | undefined

const need = (): BenchPeer => {
  if (peer === undefined) throw new Error('no peer: send start first')
  return peer
}

const handlers: { [C in Cmd]: (args: Commands[C]['args']) => Promise<Commands[C]['result']> } = {
  async start(args) {
    if (peer !== undefined) throw new Error('already started')
    peer = await startBenchPeer(args)
    return peer.info
  },
  async dial({ addr }) {
    const t0 = performance.now()
    // A dial can lose a race with the other side's identify/connection pruning under load: retry.
    for (let attempt = 1; ; attempt++) {
      try {
        await need().net.dial(addr)
        break
      } catch (err) {
        if (attempt >= 5) throw err
        console.error(`[${name}] dial ${addr} failed (attempt ${attempt}): ${describe(err)}`)
        await new Promise((r) => setTimeout(r, 200 * attempt))
      }
    }
    return { ms: performance.now() - t0 }
  },
  waitTopic: (args) => waitTopic(need(), args),
  send: (args) => send(need(), args),
  watch: (args) => watch(need(), args),
  report: (args) => report(need(), args),
  flood: (args) => flood(need(), args),
  track: (args) => track(need(), args),
  newest: (args) => newest(need(), args),
  catchup: (args) => catchup(need(), args),
  async coldLoad(args) {
    if (peer !== undefined) throw new Error('already started')
    const loaded = await coldLoad(args)
    peer = loaded.peer
    return loaded.result
  },
  loadSend: (args) => loadSend(need(), args),
  loadWatch: (args) => loadWatch(need(), args),
  loadWait: (args) => loadWait(need(), args),
  loadCheck: (args) => loadCheck(need(), args),
  mem: async () => memSample(),
  timings: async () => need().timings.take(),
  async cpu() {
    const { user, system } = process.cpuUsage()
    return { ms: (user + system) / 1000 }
  },
  async stop() {
    await peer?.stop()
    peer = undefined
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
  const run = handlers[req.cmd] as (args: unknown) => Promise<unknown>
  run(req.args).then(
    (result) =>
      reply(
        { id: req.id, ok: true, result },
        req.cmd === 'stop' ? () => process.exit(0) : undefined,
      ),
    (err: unknown) => {
      const error = describe(err)
      reply({ id: req.id, ok: false, error })
    },
  )
})

// The driver going away (or its channel closing) ends this peer too.
process.on('disconnect', () => {
  void (peer?.stop() ?? Promise.resolve()).finally(() => process.exit(0))
})
process.on('uncaughtException', (err) => {
  console.error(`[${name}] uncaught:`, err)
})
