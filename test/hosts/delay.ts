/**
 * Delays for a site's hosts (site.ts): `tc netem` where the kernel runs it, else a wire in the
 * switch namespace — `delay-wire.py` between the host's port `v<i>` and a veth `e<i>`–`d<i>` whose
 * `d<i>` takes `v<i>`'s place on the bridge, holding each frame the host sends (netem's
 * `delay D J` on the host's eth0: one way, order kept). docs/reliability.md says why both.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const DELAY_WIRE = fileURLToPath(new URL('delay-wire.py', import.meta.url))

/** How a site delays a host's packets: `tc netem` on its eth0, or a wire in the switch namespace. */
export type DelayBy = 'netem' | 'wire'

export interface Delay {
  ms: number
  /** Each packet's delay varies by up to this many ms either way; 0: none. */
  jitter: number
}

export const describeDelay = (d: Delay): string =>
  `${d.ms}ms` + (d.jitter > 0 ? ` ±${d.jitter}ms` : '')

let netemHere: boolean | undefined
/** Whether this kernel runs `tc netem` (tried once per process, on the loopback of namespace `ns`). */
export function kernelRunsNetem(ns: string): boolean {
  if (netemHere === undefined) {
    const tcIn = (...args: string[]): number | null =>
      spawnSync('ip', ['netns', 'exec', ns, 'tc', ...args], { stdio: 'ignore' }).status
    netemHere = tcIn('qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms') === 0
    if (netemHere) tcIn('qdisc', 'del', 'dev', 'lo', 'root')
  }
  return netemHere
}

/** `tc qdisc` arguments that delay a host's eth0 by `d` (and rate it, with `rateKbit`). */
export const netemArgs = (d: Delay, rateKbit: number | undefined): string[] => [
  'netem',
  'delay',
  `${d.ms}ms`,
  ...(d.jitter > 0 ? [`${d.jitter}ms`] : []),
  // netem rates the link itself, so one qdisc does both
  ...(rateKbit === undefined ? [] : ['rate', `${rateKbit}kbit`]),
]

const ipIn = (sw: string, ...args: string[]): void =>
  void execFileSync('ip', ['-n', sw, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
const quietIp = (sw: string, ...args: string[]): void =>
  void spawnSync('ip', ['-n', sw, ...args], { stdio: 'ignore' })

/** The delay wires of one site's switch namespace `sw` (bridge `br0`), by host. */
export class DelayWires {
  readonly #sw: string
  readonly #wires = new Map<number, Delay & { pid: number }>()

  constructor(sw: string) {
    this.#sw = sw
  }

  /**
   * Holds what host i sends for `d`, from when this returns: the wire opens its sockets and takes
   * the host's place on the bridge before the command ends. A new delay is a new wire (frames on
   * the old one are lost, as on a link being re-plugged).
   */
  set(i: number, d: Delay): void {
    const w = this.#wires.get(i)
    if (w?.ms === d.ms && w.jitter === d.jitter) return
    this.clear(i)
    const sw = this.#sw
    ipIn(sw, 'link', 'add', `d${i}`, 'type', 'veth', 'peer', 'name', `e${i}`)
    for (const dev of [`d${i}`, `e${i}`]) {
      ipIn(sw, 'link', 'set', dev, 'addrgenmode', 'none')
      ipIn(sw, 'link', 'set', dev, 'up')
    }
    const args = [`v${i}`, `e${i}`, `d${i}`, 'br0', d.ms, process.pid, d.jitter].map(String)
    try {
      const out = execFileSync('ip', ['netns', 'exec', sw, 'python3', DELAY_WIRE, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
      })
      this.#wires.set(i, { pid: Number(out), ...d })
    } catch (err) {
      ipIn(sw, 'link', 'set', `v${i}`, 'master', 'br0')
      quietIp(sw, 'link', 'del', `d${i}`)
      throw err
    }
  }

  /** Host i back on the bridge, its wire ended. */
  clear(i: number): void {
    const w = this.#wires.get(i)
    if (w === undefined) return
    this.#wires.delete(i)
    quietIp(this.#sw, 'link', 'set', `d${i}`, 'nomaster')
    quietIp(this.#sw, 'link', 'set', `v${i}`, 'master', 'br0')
    // By its pid, once sure the pid is still that wire's (it may have ended on its own).
    let cmdline = ''
    try {
      cmdline = readFileSync(`/proc/${w.pid}/cmdline`, 'utf8')
    } catch {
      // gone already
    }
    if (cmdline.includes(DELAY_WIRE)) process.kill(w.pid, 'SIGKILL')
    quietIp(this.#sw, 'link', 'del', `d${i}`)
  }

  clearAll(): void {
    for (const i of [...this.#wires.keys()]) this.clear(i)
  }
}
