/**
 * One always-on Parley peer (`parley serve`, a real process) per host of a {@link Site}, all in one
 * organisation: host 0 makes it, the others join by `invite --role peer` + `join`; then they find
 * each other by mDNS only. Each host has a data directory (optionally a small tmpfs of its own, to
 * fill), a fixed web and TCP port (4040/4041, as an office would run it), and an {@link agent} that
 * calls its serve's control API. Controls: kill -9, restart (same directory), clock skew (at start,
 * by libfaketime), fill and free the disk.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { CliHarness, ROOT, type CliResult, type Served } from '../helpers/cli.ts'
import type { Site } from './site.ts'
import { SITE_PREFIX } from './site.ts'
import type { AgentAnswer, AgentRequest } from './agent.ts'
import type { HistoryLine } from '../../src/node/output.ts'

export const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'

/** Why clock skew cannot run here, if it cannot. */
export function skewUnsupported(): string | undefined {
  return existsSync(FAKETIME_LIB)
    ? undefined
    : `needs libfaketime (${FAKETIME_LIB}; apt-get install libfaketime; .ci/run installs it)`
}

/** What became of one `send`: the first two are "reported as sent" (stored on the sender). */
export type SendOutcome =
  | { kind: 'delivered' | 'queued'; id: string }
  | { kind: 'refused'; why: string } // the serve answered with an error: not sent
  | { kind: 'unsent'; why: string } // no serve to take it
  | { kind: 'unknown'; why: string } // the call broke mid-way: may or may not be stored

export interface HostsInit {
  /** A tmpfs of this many MiB as each host's data directory (to fill it). @default none */
  diskMb?: number
}

export class Hosts {
  readonly site: Site
  readonly dirs: string[] = []
  readonly served: (Served | undefined)[] = []
  readonly skewMin: number[] = []
  readonly #h = new CliHarness()
  readonly #agents: Agent[] = []
  readonly #mounts: string[] = []
  readonly #made: string[] = []

  constructor(site: Site) {
    this.site = site
  }

  get size(): number {
    return this.site.size
  }

  /** Data directories, the organisation, every serve running and discovered by mDNS. */
  async start(init: HostsInit = {}): Promise<void> {
    for (let i = 0; i < this.size; i++) {
      const dir = mkdtempSync(join(tmpdir(), `${SITE_PREFIX}-data-`))
      this.#made.push(dir)
      if (init.diskMb !== undefined) {
        mount(dir, init.diskMb)
        this.#mounts.push(dir)
      }
      this.dirs.push(dir)
      this.skewMin.push(0)
      this.served.push(undefined)
    }
    await this.restart(0)
    for (let i = 1; i < this.size; i++) {
      const made = await this.#h.run(
        ['invite', '--data', this.dirs[0]!, '--role', 'peer'],
        this.#init(0),
      )
      const code = made.stdout.split('\n')[1]
      if (made.code !== 0 || code === undefined) throw new Error(`parley invite: ${made.stderr}`)
      const joined = await this.#h.run(['join', '--data', this.dirs[i]!, code], this.#init(i))
      if (joined.code !== 0) throw new Error(`parley join on h${i}: ${joined.stderr}`)
    }
    await Promise.all(Array.from({ length: this.size - 1 }, (_, i) => this.restart(i + 1)))
    for (let i = 0; i < this.size; i++)
      this.#agents.push(new Agent(this.site.prefix(i), this.dirs[i]!))
  }

  #init(i: number): { prefix: string[] } {
    const skew = this.skewMin[i] ?? 0
    const env =
      skew === 0
        ? []
        : [
            'env',
            `LD_PRELOAD=${FAKETIME_LIB}`,
            `FAKETIME=${skew > 0 ? '+' : ''}${skew}m`,
            // Only the wall clock: timers and performance.now() keep running true.
            'FAKETIME_DONT_FAKE_MONOTONIC=1',
          ]
    return { prefix: [...this.site.prefix(i), ...env] }
  }

  running(i: number): boolean {
    return this.served[i]?.proc.running === true
  }

  /** kill -9 of host i's serve (resolves once it is gone). */
  async kill(i: number): Promise<void> {
    const s = this.served[i]
    this.served[i] = undefined
    if (s !== undefined) await s.stop('SIGKILL')
  }

  /** Starts host i's serve on its directory (after a kill: the same one), its clock `skewMin` off. */
  async restart(i: number, skewMin = this.skewMin[i] ?? 0): Promise<Served> {
    if (this.running(i)) throw new Error(`h${i} runs already`)
    this.skewMin[i] = skewMin
    const s = await this.#h.serve(
      this.dirs[i]!,
      ['--name', `h${i}`, '--port', '4040', '--tcp-port', '4041'],
      // A shared 2-core machine under load can take long to start one.
      { ...this.#init(i), mdns: true, readyMs: 120_000 },
    )
    this.served[i] = s
    return s
  }

  async send(i: number, room: string, text: string, timeoutMs: number): Promise<SendOutcome> {
    const a = await this.#agents[i]!.call({ op: 'send', room, text, timeoutMs })
    const body = a.body as { id?: string; error?: string } | undefined
    if (a.status === 200 && body?.id !== undefined) return { kind: 'delivered', id: body.id }
    if (a.status === 504 && body?.id !== undefined) return { kind: 'queued', id: body.id }
    if (a.status !== undefined) return { kind: 'refused', why: `${a.status} ${body?.error ?? ''}` }
    if (a.error === 'ECONNREFUSED' || a.error === 'NOSERVE') return { kind: 'unsent', why: a.error }
    return { kind: 'unknown', why: a.error ?? '?' }
  }

  /** The room's history on host i, through its serve. */
  async read(i: number, room: string): Promise<HistoryLine[]> {
    const a = await this.#agents[i]!.call({ op: 'read', room })
    if (a.status !== 200)
      throw new Error(`read on h${i}: ${a.status ?? a.error} ${JSON.stringify(a.body)}`)
    return a.body as HistoryLine[]
  }

  /** The peer ids host i's serve has a connection to (empty if it does not answer). */
  async links(i: number): Promise<string[]> {
    const a = await this.#agents[i]!.call({ op: 'peers', timeoutMs: 2_000 })
    const body = a.body as { connections?: { peer: string }[] } | undefined
    return a.status === 200 ? (body?.connections ?? []).map((c) => c.peer) : []
  }

  /** Runs a one-shot `parley` command on host i, on its data directory (through its serve). */
  cli(i: number, args: string[]): Promise<CliResult> {
    return this.#h.run([args[0]!, '--data', this.dirs[i]!, ...args.slice(1)], {
      ...this.#init(i),
      timeoutMs: 120_000,
    })
  }

  /** Fills host i's data directory to the last byte (a file `filler`); needs `diskMb`. */
  fillDisk(i: number): number {
    const fd = openSync(join(this.dirs[i]!, 'filler'), 'a')
    let written = 0
    try {
      for (const size of [1 << 20, 1 << 12, 1]) {
        const chunk = Buffer.alloc(size)
        for (;;) {
          try {
            written += writeSync(fd, chunk)
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break
            throw err
          }
        }
      }
    } finally {
      closeSync(fd)
    }
    return written
  }

  freeDisk(i: number): void {
    rmSync(join(this.dirs[i]!, 'filler'), { force: true })
  }

  /** Stops every process, unmounts, removes the directories (the site is the caller's). */
  async stop(): Promise<void> {
    for (const a of this.#agents.splice(0)) a.stop()
    try {
      await this.#h.cleanup()
    } finally {
      for (const m of this.#mounts.splice(0)) spawnSync('umount', ['-l', m], { stdio: 'ignore' })
      for (const d of this.#made.splice(0)) rmSync(d, { recursive: true, force: true })
    }
  }
}

function mount(dir: string, mb: number): void {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m,mode=0700`, SITE_PREFIX, dir], {
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(`mount a ${mb} MiB tmpfs on ${dir}: ${r.stderr}`)
}

/** Unmounts the data-directory tmpfs mounts left by a site whose process was killed. */
export function unmountStale(): string[] {
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n')
  const left: string[] = []
  for (const line of mounts) {
    const [source, target] = line.split(' ')
    if (source !== SITE_PREFIX || target === undefined) continue
    spawnSync('umount', ['-l', target], { stdio: 'ignore' })
    rmSync(target, { recursive: true, force: true })
    left.push(target)
  }
  return left
}

/** The harness's end of one {@link ./agent.ts} process. */
class Agent {
  readonly #child: ChildProcess
  readonly #waiting = new Map<number, (a: AgentAnswer) => void>()
  #n = 0

  constructor(prefix: string[], dir: string) {
    const argv = [
      ...prefix,
      process.execPath,
      '--import',
      'tsx',
      join(ROOT, 'test/hosts/agent.ts'),
      dir,
    ]
    this.#child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] })
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      const a = JSON.parse(line) as AgentAnswer
      this.#waiting.get(a.n)?.(a)
      this.#waiting.delete(a.n)
    })
    this.#child.once('exit', () => {
      for (const [n, done] of this.#waiting) done({ n, error: 'agent exited' })
      this.#waiting.clear()
    })
  }

  call(req: Omit<AgentRequest, 'n'>): Promise<AgentAnswer> {
    const n = ++this.#n
    return new Promise((resolve) => {
      this.#waiting.set(n, resolve)
      this.#child.stdin!.write(JSON.stringify({ ...req, n }) + '\n')
    })
  }

  stop(): void {
    this.#child.stdin!.end()
    if (this.#child.exitCode === null) this.#child.kill('SIGTERM')
  }
}
