/**
 * Runs the real `parley` command (bin/parley.js) in child processes for CLI tests: stdout read line
 * by line, `serve` awaited on its 'ready' line, every process killed and every directory removed
 * in {@link CliHarness.cleanup} (call it in afterEach/afterAll, also when a test fails).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = join(ROOT, 'bin', 'parley.js')

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

interface LineWaiter {
  match: (line: string) => boolean
  resolve: (line: string) => void
}

/** One spawned process: its stdout as lines, its stderr as text, its exit. */
export class CliProcess {
  readonly child: ChildProcess
  readonly lines: string[] = []
  stderr = ''
  readonly exited: Promise<CliResult>
  exitCode: number | null | undefined
  readonly #waiters = new Set<LineWaiter>()
  readonly #label: string

  constructor(child: ChildProcess, label: string) {
    this.child = child
    this.#label = label
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (s: string) => (this.stderr += s))
    const rl = createInterface({ input: child.stdout! })
    rl.on('line', (line) => {
      this.lines.push(line)
      for (const w of this.#waiters) {
        if (w.match(line)) {
          this.#waiters.delete(w)
          w.resolve(line)
        }
      }
    })
    const closed = new Promise<void>((res) => rl.once('close', res))
    this.exited = new Promise<CliResult>((res) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code
        // stdout may still hold lines when 'exit' fires: wait for the stream to end.
        void closed.then(() =>
          res({ code, signal, stdout: this.lines.join('\n'), stderr: this.stderr }),
        )
      })
    })
  }

  get pid(): number {
    return this.child.pid!
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /**
   * Resolves with the first stdout line (already printed or to come) that matches; rejects if the
   * process exits first or nothing matches within `timeoutMs`.
   */
  line(match: RegExp | string, timeoutMs = 30_000): Promise<string> {
    const test = (l: string): boolean =>
      typeof match === 'string' ? l.includes(match) : match.test(l)
    const seen = this.lines.find(test)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise<string>((resolve, reject) => {
      const w: LineWaiter = {
        match: test,
        resolve: (l) => {
          clearTimeout(timer)
          resolve(l)
        },
      }
      const fail = (why: string): void => {
        this.#waiters.delete(w)
        clearTimeout(timer)
        reject(
          new Error(
            `${this.#label}: ${why} waiting for ${String(match)}\n` +
              `stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`,
          ),
        )
      }
      const timer = setTimeout(() => fail(`no line within ${timeoutMs} ms`), timeoutMs)
      this.#waiters.add(w)
      void this.exited.then((r) => {
        if (this.#waiters.has(w)) fail(`exited (${r.code ?? r.signal})`)
      })
    })
  }

  /** Sends `signal` to this process (by its pid) if it still runs. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.child.kill(signal)
  }
}

/** What a `serve` printed before 'ready'. */
export interface Served {
  proc: CliProcess
  dir: string
  peerId: string
  webPort: number
  /** Its TCP listen address on 127.0.0.1 (with /p2p/). */
  addr: string
  /** SIGTERM (or `signal`) and the exit. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>
}

export interface HarnessInit {
  /** Command prefix, e.g. `['ip', 'netns', 'exec', ns]`. */
  prefix?: string[]
}

export class CliHarness {
  readonly procs = new Set<CliProcess>()
  readonly dirs: string[] = []

  /** A fresh data directory, removed in cleanup. */
  tmpDir(): string {
    const d = mkdtempSync(join(tmpdir(), 'parley-cli-'))
    this.dirs.push(d)
    return d
  }

  /**
   * Starts `node bin/parley.js ...args`; `prefix` runs it under another command (ip netns exec).
   * Without a prefix it runs in the host's network namespace, where mDNS must stay off (it would
   * multicast on every interface): `--no-mdns` is added, also to commands meant to go through a
   * serve, since they run as a peer of their own when the serve is gone.
   */
  spawn(args: string[], init: HarnessInit = {}): CliProcess {
    const hostSafe = init.prefix === undefined && !args.includes('--no-mdns')
    const argv = [
      ...(init.prefix ?? []),
      process.execPath,
      BIN,
      ...args,
      ...(hostSafe ? ['--no-mdns'] : []),
    ]
    const env = { ...process.env }
    delete env.PARLEY_DATA
    delete env.DEBUG
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    })
    const p = new CliProcess(child, `parley ${args.join(' ')}`)
    this.procs.add(p)
    void p.exited.then(() => this.procs.delete(p))
    return p
  }

  /** Runs a one-shot command to its end (killed after `timeoutMs`). */
  async run(args: string[], init: HarnessInit & { timeoutMs?: number } = {}): Promise<CliResult> {
    const p = this.spawn(args, init)
    const timer = setTimeout(() => p.kill('SIGKILL'), init.timeoutMs ?? 30_000)
    try {
      return await p.exited
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * `serve --data dir --port 0 --tcp-port 0 ...extra` (mDNS off unless `mdns`), awaited on 'ready'
   * (for `readyMs`, default 30 s).
   */
  async serve(
    dir: string,
    extra: string[] = [],
    init: HarnessInit & { mdns?: boolean; readyMs?: number } = {},
  ): Promise<Served> {
    const args = ['serve', '--data', dir, '--port', '0', '--tcp-port', '0', ...extra]
    if (init.mdns !== true) args.push('--no-mdns')
    else if (init.prefix === undefined) throw new Error('mDNS only inside a network namespace')
    const proc = this.spawn(args, init)
    await proc.line(/^ready$/, init.readyMs)
    const field = (re: RegExp): string => {
      for (const l of proc.lines) {
        const m = re.exec(l)
        if (m !== null) return m[1]!
      }
      throw new Error(`serve printed no line like ${String(re)}:\n${proc.lines.join('\n')}`)
    }
    return {
      proc,
      dir,
      peerId: field(/^Parley peer (\S+)$/),
      webPort: Number(field(/^web port: (\d+)$/)),
      addr: field(/^listening: (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+)$/),
      stop: async (signal = 'SIGTERM') => {
        proc.kill(signal)
        return proc.exited
      },
    }
  }

  /**
   * A data directory (`dir`, or a fresh one) that joined the organisation of the running serve
   * `of` as a Node peer: `parley invite --role peer` through that serve, then `parley join CODE`.
   * (Every first serve makes an organisation of its own: peers of two fresh serves meet only this
   * way.) The code carries `of`'s addresses, which the directory's peer then dials.
   */
  async joined(of: Served, init: HarnessInit = {}, dir = this.tmpDir()): Promise<string> {
    const made = await this.run(['invite', '--data', of.dir, '--role', 'peer'], init)
    const code = made.stdout.split('\n')[1]
    if (made.code !== 0 || code === undefined) throw new Error(`parley invite: ${made.stderr}`)
    const joined = await this.run(['join', '--data', dir, code], init)
    if (joined.code !== 0) throw new Error(`parley join: ${joined.stderr}`)
    return dir
  }

  /** Kills every process still running (SIGTERM, then SIGKILL) and removes the directories. */
  async cleanup(): Promise<void> {
    const left = [...this.procs]
    for (const p of left) p.kill('SIGTERM')
    await Promise.all(
      left.map(async (p) => {
        const t = setTimeout(() => p.kill('SIGKILL'), 5_000)
        await p.exited
        clearTimeout(t)
      }),
    )
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  }
}

/** Parses `read --json` output: one object a line. */
export function jsonLines(
  stdout: string,
): { id: string; author: string; time: string; text: string }[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { id: string; author: string; time: string; text: string })
}
