/**
 * Bench peers as child processes: each runs `bench/peer.ts` under tsx, driven over IPC. Every child
 * is killed by its own pid when the driver ends, whatever happens.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Cmd, Commands, Request, Response } from './protocol.ts'

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

export interface SpawnOptions {
  /** Shown in errors and in the profile's file name. */
  name: string
  /** Write a V8 CPU profile of this process into this directory. */
  cpuProfDir?: string
}

export class PeerProcess {
  readonly name: string
  readonly #child: ChildProcess
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >()
  #nextId = 1
  #exited: Error | undefined
  /** When the fork was issued (driver clock, ms). */
  readonly spawnedAt = performance.timeOrigin + performance.now()

  private constructor(name: string, child: ChildProcess) {
    this.name = name
    this.#child = child
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

  static spawn(opts: SpawnOptions): PeerProcess {
    const execArgv = peerScript.endsWith('.ts')
      ? ['--import', 'tsx', '--expose-gc']
      : ['--expose-gc']
    // One directory per process: tsx's loader thread writes a profile of its own there too (the
    // main thread's file is the one whose name has thread id 0... or the biggest).
    if (opts.cpuProfDir !== undefined)
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${join(opts.cpuProfDir, opts.name)}`)
    const child = fork(peerScript, [opts.name], {
      execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, DEBUG: process.env.BENCH_DEBUG ?? '' },
    })
    live.add(child)
    return new PeerProcess(opts.name, child)
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  call<C extends Cmd>(
    cmd: C,
    args: Commands[C]['args'],
    timeoutMs = 60_000,
  ): Promise<Commands[C]['result']> {
    if (this.#exited !== undefined) return Promise.reject(this.#exited)
    const id = this.#nextId++
    const req: Request<C> = { id, cmd, args }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`${this.name}: ${cmd} timed out after ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer)
          resolve(v as Commands[C]['result'])
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
      this.#child.send(req)
    })
  }

  /** Stops the peer cleanly (flushing its store), then waits for the process to exit. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (this.#exited !== undefined) return
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
    try {
      await this.call('stop', {}, timeoutMs)
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))])
    } finally {
      this.kill()
    }
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null)
      this.#child.kill('SIGKILL')
  }
}

/** Stops every process (in parallel), killing any that does not stop in time. */
export async function stopAll(procs: readonly PeerProcess[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop().catch(() => p.kill())))
}
