/**
 * A site of N hosts for multi-host tests: one network namespace per host, all on one Ethernet
 * bridge that lives in a "switch" namespace of its own (everything created here, removed in
 * `remove()`, also after a failure, and by `removeStaleSites()` when a earlier run was killed).
 *
 *   host i:  namespace `<prefix>-h<i>`, interface `eth0` = 10.77.0.<i+1>/24, a multicast route
 *            (mDNS: FACTS, network behaviour) and a default route (IPv4 and IPv6) into `out0`,
 *            a link that only counts: a packet trying to leave the LAN is sent there and goes
 *            nowhere (the air-gap proof).
 *   switch:  namespace `<prefix>-sw`, bridge `br0`, one veth `v<i>` per host, no address; the
 *            far ends `o<i>` of the hosts' `out0`, on no bridge.
 *
 * Link controls act inside the host's own namespace, on its `eth0`. A partition is an nftables set
 * of cut addresses: packets to them and from them are dropped silently (no error to the sender, as
 * with a pulled cable). Loss is an nftables `numgen random` drop on eth0, both ways. A slow link is
 * a `tbf` rate limit. A delay (with jitter, if asked) is `tc netem` on the host's eth0 where the
 * kernel runs it (probed once: `Site.delayBy`), else a wire in the switch namespace (delay.ts) —
 * the 6.18 Firecracker kernel of these machines has no `sch_netem` (docs/reliability.md).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import {
  DelayWires,
  describeDelay,
  kernelRunsNetem,
  netemArgs,
  type Delay,
  type DelayBy,
} from './delay.ts'

export type { DelayBy } from './delay.ts'

/** Namespace names start with this, then the creating process's pid (base 36). */
export const SITE_PREFIX = 'phst'

const run = (args: string[]): string =>
  execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })

/** Why this machine cannot run a site, if it cannot. */
export function siteUnsupported(): string | undefined {
  if (process.getuid?.() !== 0)
    return 'needs root to create network namespaces (CI runs as root): run it with sudo'
  for (const [cmd, version, pkg] of [
    ['ip', '-V', 'iproute2'],
    ['tc', '-V', 'iproute2'],
    ['nft', '-V', 'nftables'],
    ['python3', '--version', 'python3'],
  ] as const) {
    const v = spawnSync(cmd, [version], { encoding: 'utf8' })
    if (v.error !== undefined || v.status !== 0)
      return `needs \`${cmd}\` (apt-get install ${pkg}; .ci/run installs it)`
  }
  return undefined
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes the namespaces of sites whose creating process is gone. Returns their names. */
export function removeStaleSites(): string[] {
  const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? ''
  const stale: string[] = []
  for (const line of listed.split('\n')) {
    const name = line.split(' ')[0] ?? ''
    const m = new RegExp(`^${SITE_PREFIX}([0-9a-z]+)-`).exec(name)
    if (m === null || alive(parseInt(m[1]!, 36))) continue
    spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' })
    stale.push(name)
  }
  return stale
}

export interface Shaping {
  /** Rate of host i's outgoing link in kbit/s (a tbf queue of `latencyMs` at most). */
  rateKbit?: number
  /** @default 500 */
  latencyMs?: number
  /** Percent of packets lost, each way. */
  lossPct?: number
  /** Milliseconds every packet host i sends is held (`tc netem delay` on its eth0, or the wire). */
  delayMs?: number
  /** With `delayMs`: each packet's delay varies by up to this many ms either way (netem's jitter). */
  jitterMs?: number
}

export interface Site {
  readonly size: number
  /** How `shape()` delays: `netem` where the kernel runs it, else `wire`. */
  readonly delayBy: DelayBy
  /** Namespace of host i. */
  ns(i: number): string
  /** LAN address of host i. */
  addr(i: number): string
  /** Command prefix that runs a program on host i. */
  prefix(i: number): string[]
  /** Cuts every link between hosts of different groups (hosts in no group are cut from all). */
  partition(groups: number[][]): void
  /** Cuts host i from every other host. */
  isolate(i: number): void
  /** Every host reaches every other again (delay and loss stay). */
  heal(): void
  /** A slow and/or lossy link for host i. */
  shape(i: number, s: Shaping): void
  unshape(i: number): void
  /** Packets that tried to leave the LAN (sent into host i's `out0`), per host. */
  leaks(): number[]
  /** Which hosts each host cannot reach now (for logs). */
  describe(): string
  remove(): void
}

export interface SiteInit {
  /** The third octet of 10.77.X.0/24 (tests running at once use different ones). @default 0 */
  subnet?: number
}

/** Creates the namespaces, the bridge and the links of `size` hosts. */
export function createSite(size: number, init: SiteInit = {}): Site {
  if (size < 1 || size > 200) throw new RangeError(`a site has 1 to 200 hosts, not ${size}`)
  const base = `10.77.${init.subnet ?? 0}`
  const tag = `${SITE_PREFIX}${process.pid.toString(36)}-${Math.floor(Math.random() * 36 ** 3).toString(36)}`
  const sw = `${tag}-sw`
  const ns = (i: number): string => `${tag}-h${i}`
  const addr = (i: number): string => `${base}.${i + 1}`
  const hosts = Array.from({ length: size }, (_, i) => i)
  /** cut[i]: hosts i drops packets to. */
  const cut = hosts.map(() => new Set<number>())
  const lossPct = hosts.map(() => 0)
  const rated = new Set<number>()
  /** The delays, by host (what `describe()` says). */
  const delays = new Map<number, Delay>()
  /** The delay wires, by host. */
  const wires = new DelayWires(sw)
  let delayBy: DelayBy = 'wire'

  const remove = (): void => {
    wires.clearAll()
    for (const n of [...hosts.map(ns), sw])
      spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' })
  }
  const ip = (...args: string[]): void => void run(['ip', ...args])
  const tc = (i: number, ...args: string[]): void =>
    void run(['ip', 'netns', 'exec', ns(i), 'tc', ...args])
  /** Brings up a link of namespace `where` that carries no address of its own (no IPv6 either). */
  const bareLinkUp = (where: string, dev: string): void => {
    ip('-n', where, 'link', 'set', dev, 'addrgenmode', 'none')
    ip('-n', where, 'link', 'set', dev, 'up')
  }

  try {
    ip('netns', 'add', sw)
    ip('-n', sw, 'link', 'set', 'lo', 'up')
    ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', sw, 'link', 'set', 'br0', 'up')
    for (const i of hosts) {
      const n = ns(i)
      ip('netns', 'add', n)
      ip('-n', n, 'link', 'set', 'lo', 'up')
      // Created inside the namespaces: the host's own namespace never sees these interfaces.
      ip('link', 'add', `v${i}`, 'netns', sw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n)
      ip('-n', sw, 'link', 'set', `v${i}`, 'master', 'br0')
      ip('-n', sw, 'link', 'set', `v${i}`, 'up')
      ip('-n', n, 'addr', 'add', `${addr(i)}/24`, 'dev', 'eth0')
      ip('-n', n, 'link', 'set', 'eth0', 'up')
      ip('-n', n, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0')
      // No route out of the LAN: whatever tries is counted on out0 and goes nowhere.
      // (A veth whose other end sits unbridged in the switch namespace: no dummy module in
      // every kernel; the switch neither forwards nor answers.)
      ip('link', 'add', 'out0', 'netns', n, 'type', 'veth', 'peer', 'name', `o${i}`, 'netns', sw)
      bareLinkUp(n, 'out0')
      bareLinkUp(sw, `o${i}`)
      ip('-n', n, 'route', 'add', 'default', 'dev', 'out0')
      ip('-n', n, '-6', 'route', 'add', 'default', 'dev', 'out0')
      nftRules(i)
    }
    delayBy = kernelRunsNetem(sw) ? 'netem' : 'wire'
  } catch (err) {
    remove()
    const stderr = (err as { stderr?: string }).stderr ?? ''
    throw new Error(`could not create the site: ${(err as Error).message} ${stderr}`, {
      cause: err,
    })
  }

  /** Host i's nftables rules (replaced whole, atomically): cut addresses, random loss. */
  function nftRules(i: number): void {
    const cutSet = [...(cut[i] ?? [])].map(addr)
    const loss = lossPct[i] ?? 0
    const lossRule = (dir: 'oifname' | 'iifname'): string =>
      loss >= 100
        ? `${dir} "eth0" drop;`
        : loss > 0
          ? `${dir} "eth0" numgen random mod 100 < ${loss} drop;`
          : ''
    const script = [
      'table inet chaos {}',
      'delete table inet chaos',
      'table inet chaos {',
      `  set cut { type ipv4_addr; ${cutSet.length > 0 ? `elements = { ${cutSet.join(', ')} }` : ''} }`,
      `  chain out { type filter hook output priority 0; ip daddr @cut drop; ${lossRule('oifname')} }`,
      `  chain in { type filter hook input priority 0; ip saddr @cut drop; ${lossRule('iifname')} }`,
      '}',
    ].join('\n')
    execFileSync('ip', ['netns', 'exec', ns(i), 'nft', '-f', '-'], {
      input: script,
      stdio: ['pipe', 'ignore', 'pipe'],
    })
  }

  const setCuts = (pairs: [number, number][]): void => {
    const before = cut.map((s) => [...s].sort().join())
    for (const s of cut) s.clear()
    for (const [a, b] of pairs) {
      cut[a]!.add(b)
      cut[b]!.add(a)
    }
    for (const i of hosts) if (cut[i]!.size > 0 || before[i] !== '') nftRules(i)
  }

  const leaks = (): number[] =>
    hosts.map((i) => {
      const out = run(['ip', '-n', ns(i), '-s', '-j', 'link', 'show', 'out0'])
      const [link] = JSON.parse(out) as { stats64?: { tx?: { packets?: number } } }[]
      return link?.stats64?.tx?.packets ?? 0
    })

  return {
    size,
    delayBy,
    ns,
    addr,
    prefix: (i) => ['ip', 'netns', 'exec', ns(i)],
    partition(groups) {
      const group = hosts.map((i) => groups.findIndex((g) => g.includes(i)))
      const pairs: [number, number][] = []
      for (const a of hosts)
        for (const b of hosts)
          if (a < b && (group[a] === -1 || group[a] !== group[b])) pairs.push([a, b])
      setCuts(pairs)
    },
    isolate(i) {
      const pairs = cut.flatMap((s, a) => [...s].map((b): [number, number] => [a, b]))
      setCuts([...pairs, ...hosts.filter((j) => j !== i).map((j): [number, number] => [i, j])])
    },
    heal: () => setCuts([]),
    shape(i, sh) {
      if ((sh.lossPct ?? 0) !== lossPct[i]) {
        lossPct[i] = Math.max(0, Math.min(100, Math.round(sh.lossPct ?? 0)))
        nftRules(i)
      }
      const ms = Math.max(0, Math.round(sh.delayMs ?? 0))
      const d: Delay | undefined =
        ms > 0 ? { ms, jitter: Math.max(0, Math.min(ms, Math.round(sh.jitterMs ?? 0))) } : undefined
      const rate = sh.rateKbit
      // a qdisc of ours sits at the root of eth0 while the host is slow or delayed by netem
      const rooted = rated.has(i) || (delayBy === 'netem' && delays.has(i))
      if (d !== undefined && delayBy === 'netem') {
        tc(i, 'qdisc', 'replace', 'dev', 'eth0', 'root', ...netemArgs(d, rate))
      } else if (rate !== undefined) {
        const limit = ['rate', `${rate}kbit`, 'burst', '4kb', 'latency', `${sh.latencyMs ?? 500}ms`]
        tc(i, 'qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', ...limit)
      } else if (rooted) tc(i, 'qdisc', 'del', 'dev', 'eth0', 'root')
      if (rate === undefined) rated.delete(i)
      else rated.add(i)
      if (d !== undefined && delayBy === 'wire') wires.set(i, d)
      else wires.clear(i)
      if (d === undefined) delays.delete(i)
      else delays.set(i, d)
    },
    unshape(i) {
      this.shape(i, {})
    },
    leaks,
    describe: () =>
      hosts
        .filter((i) => cut[i]!.size > 0 || rated.has(i) || lossPct[i]! > 0 || delays.has(i))
        .map(
          (i) =>
            `h${i}` +
            (cut[i]!.size > 0 ? ` cut from ${[...cut[i]!].join(',')}` : '') +
            (rated.has(i) ? ' slow' : '') +
            (delays.has(i) ? ` delay ${describeDelay(delays.get(i)!)}` : '') +
            (lossPct[i]! > 0 ? ` loss ${lossPct[i]}%` : ''),
        )
        .join('; ') || 'all linked',
    remove,
  }
}
