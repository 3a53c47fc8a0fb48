/**
 * Bench peers as child processes: each runs `bench/peer.ts` under tsx, driven over IPC. Every child
 * is killed by its own pid when the driver ends, whatever happens.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Commands, Response } from './protocol.ts'

const live = new Set<ChildProcess>()
/** The peer script run through tsx (the default). */
export const TS_PEER = fileURLToPath(new URL('../peer.ts', import.meta.url))
let peerScript = TS_PEER

/** Runs peers from `script` instead: a `.mjs` bundle runs on plain Node, without tsx. */
export function usePeerScript(script: string): void {
  peerScript = script
}

process.once('exit', () => {
  for (const child of live) if (child.exitCode === null) child.kill('SIGKILL')
})

/** The commands a child process answers: name → argument and result types. */
export type CommandMap<M> = { [C in keyof M]: { args: unknown; result: unknown } }

export interface SpawnOptions {
  /** Shown in errors and in the profile's file name. */
  name: string
  /** The child's script (default: the bench peer, {@link TS_PEER} or what {@link usePeerScript} set). */
  script?: string
  /** Write a V8 CPU profile of this process into this directory. */
  cpuProfDir?: string
  /** How many peers the process runs ({@link PeerSlot}s 0…n-1); it ends when all are stopped. */
  slots?: number
}

export class PeerProcess<M extends CommandMap<M> = Commands> {
  readonly name: string
  readonly #child: ChildProcess
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >()
  #nextId = 1
  #exited: Error | undefined
  /** Resolves when the process has exited. */
  readonly #exit: Promise<void>
  /** Slots not yet stopped. */
  #open: number
  /** When the fork was issued (driver clock, ms). */
  readonly spawnedAt = performance.timeOrigin + performance.now()

  private constructor(name: string, child: ChildProcess, slots: number) {
    this.name = name
    this.#child = child
    this.#open = slots
    this.#exit = new Promise((resolve) => child.once('exit', () => resolve()))
    child.on('message', (msg: Response) => {
      const p = this.#pending.get(msg.id)
      if (p === undefined) return
      this.#pending.delete(msg.id)
      if (msg.ok) p.resolve(msg.result)
      else p.reject(new Error(`${name}: ${msg.error}`))
    })
    child.on('exit', (code, signal) => {
      live.delete(child)
      this.#exited = new Error(`${name} exited (code ${code}, signal ${signal})`)
      if (code !== 0 && signal !== 'SIGKILL') console.error(this.#exited.message)
      for (const p of this.#pending.values()) p.reject(this.#exited)
      this.#pending.clear()
    })
  }

  static spawn<M extends CommandMap<M> = Commands>(opts: SpawnOptions): PeerProcess<M> {
    const script = opts.script ?? peerScript
    const execArgv = script.endsWith('.ts') ? ['--import', 'tsx', '--expose-gc'] : ['--expose-gc']
    // One directory per process: tsx's loader thread writes a profile of its own there too (the
    // main thread's file is the one whose name has thread id 0... or the biggest).
    if (opts.cpuProfDir !== undefined)
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${join(opts.cpuProfDir, opts.name)}`)
    const child = fork(script, [opts.name], {
      execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, DEBUG: process.env.BENCH_DEBUG ?? '' },
    })
    live.add(child)
    return new PeerProcess<M>(opts.name, child, opts.slots ?? 1)
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  call<C extends keyof M & string>(
    cmd: C,
    args: M[C]['args'],
    timeoutMs = 60_000,
  ): Promise<M[C]['result']> {
    return this.callIn(0, cmd, args, timeoutMs)
  }

  /** A call to the peer in `slot`. */
  callIn<C extends keyof M & string>(
    slot: number,
    cmd: C,
    args: M[C]['args'],
    timeoutMs = 60_000,
  ): Promise<M[C]['result']> {
    return this.#request(cmd, args, timeoutMs, slot) as Promise<M[C]['result']>
  }

  /** Every child answers `stop` (and the driver's own commands, typed by `call`). */
  #request(cmd: string, args: unknown, timeoutMs: number, slot: number): Promise<unknown> {
    if (this.#exited !== undefined) return Promise.reject(this.#exited)
    const id = this.#nextId++
    const req = slot === 0 ? { id, cmd, args } : { id, cmd, args, slot }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`${this.name}: ${cmd} timed out after ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer)
          resolve(v)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
      this.#child.send(req)
    })
  }

  /**
   * Stops the peer in `slot` cleanly (flushing its store); once no slot is left, waits for the
   * process to exit.
   */
  async stop(timeoutMs = 20_000, slot = 0): Promise<void> {
    if (this.#exited !== undefined) return
    try {
      await this.#request('stop', {}, timeoutMs, slot)
      if (this.#open > 1) return
      await Promise.race([this.#exit, new Promise((r) => setTimeout(r, 5_000))])
    } finally {
      this.#open--
      if (this.#open <= 0) this.kill()
    }
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null)
      this.#child.kill('SIGKILL')
  }
}

/**
 * One of the peers a process runs (`SpawnOptions.slots`): called and stopped as if it were a process
 * of its own. Its memory and CPU are the process's; `kill` ends every peer of the process.
 */
export class PeerSlot<M extends CommandMap<M> = Commands> {
  constructor(
    readonly name: string,
    readonly process: PeerProcess<M>,
    readonly slot: number,
  ) {}

  get pid(): number | undefined {
    return this.process.pid
  }

  call<C extends keyof M & string>(
    cmd: C,
    args: M[C]['args'],
    timeoutMs = 60_000,
  ): Promise<M[C]['result']> {
    return this.process.callIn(this.slot, cmd, args, timeoutMs)
  }

  stop(timeoutMs = 20_000): Promise<void> {
    return this.process.stop(timeoutMs, this.slot)
  }

  kill(): void {
    this.process.kill()
  }
}

/** Stops every process (in parallel), killing any that does not stop in time. */
export async function stopAll(
  procs: readonly { stop(): Promise<void>; kill(): void }[],
): Promise<void> {
  await Promise.all(procs.map((p) => p.stop().catch(() => p.kill())))
}
