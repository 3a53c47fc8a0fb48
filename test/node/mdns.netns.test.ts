/**
 * mDNS discovery between two `parley serve` processes in two network namespaces joined by a veth
 * pair (created and removed here). mDNS multicasts on every interface, so it runs only inside
 * namespaces this test owns; each namespace needs a multicast route or nothing is discovered.
 * Needs root and iproute2 (CI has both): without them the test fails, it does not skip.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CliHarness, jsonLines, type Served } from '../helpers/cli.ts'

const tag = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`
const NS = { a: `parley-a-${tag}`, b: `parley-b-${tag}` }
// Interface names are at most 15 bytes.
const IF = { a: `pva${tag}`, b: `pvb${tag}` }
const IP = { a: '10.77.1.1', b: '10.77.1.2' }

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Why this machine cannot run the test, if it cannot. */
function unsupported(): string | undefined {
  if (process.getuid?.() !== 0)
    return 'needs root to create network namespaces (CI runs as root): run it with sudo'
  const v = spawnSync('ip', ['-V'], { encoding: 'utf8' })
  if (v.error !== undefined || v.status !== 0)
    return 'needs the `ip` command (apt-get install iproute2; .ci/run installs it)'
  return undefined
}

function createNetwork(): void {
  ip('netns', 'add', NS.a)
  ip('netns', 'add', NS.b)
  // Created inside the namespaces: the host never sees the pair, not even for a moment.
  ip('link', 'add', IF.a, 'netns', NS.a, 'type', 'veth', 'peer', 'name', IF.b, 'netns', NS.b)
  for (const side of ['a', 'b'] as const) {
    const ns = NS[side]
    ip('-n', ns, 'link', 'set', 'lo', 'up')
    ip('-n', ns, 'addr', 'add', `${IP[side]}/24`, 'dev', IF[side])
    ip('-n', ns, 'link', 'set', IF[side], 'up')
    // Without a multicast route mDNS queries go nowhere (docs: FACTS, network behaviour).
    ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', IF[side])
  }
}

function deleteNetwork(): void {
  for (const ns of [NS.a, NS.b]) {
    // Deleting a namespace also deletes its end of the veth pair (and so the pair).
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' })
  }
}

describe('mDNS discovery across network namespaces', () => {
  const h = new CliHarness()
  const inNs = (side: 'a' | 'b') => ({ prefix: ['ip', 'netns', 'exec', NS[side]] })
  let a: Served
  let b: Served

  beforeAll(async () => {
    const why = unsupported()
    if (why !== undefined) throw new Error(`mdns.netns.test.ts ${why}`)
    try {
      createNetwork()
    } catch (err) {
      deleteNetwork()
      const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? ''
      throw new Error(`could not create the test network: ${(err as Error).message} ${stderr}`, {
        cause: err,
      })
    }
    // b joins a's organisation; a then restarts on new ports, so the addresses b's invitation
    // carried are stale. mDNS on, no --peer: they can only find each other by multicast.
    const dirA = h.tmpDir()
    const first = await h.serve(dirA, [], { ...inNs('a'), mdns: true })
    const dirB = await h.joined(first, inNs('a'))
    await first.stop()
    ;[a, b] = await Promise.all([
      h.serve(dirA, [], { ...inNs('a'), mdns: true }),
      h.serve(dirB, [], { ...inNs('b'), mdns: true }),
    ])
  })

  afterAll(async () => {
    try {
      await h.cleanup()
    } finally {
      deleteNetwork()
    }
  })

  it('[MDNS1] two serves discover each other; a message sent in one shows in the other', async () => {
    expect(a.proc.lines).toContain('mDNS: on')
    expect(a.proc.lines.some((l) => l.includes(`/ip4/${IP.a}/tcp/`))).toBe(true)
    // send exits 0 only once another peer holds it: b, found by mDNS.
    const sent = await h.run(
      ['send', '--data', a.dir, '--timeout', '30', '--room', 'lan', 'hello over mdns'],
      inNs('a'),
    )
    expect(sent.code, sent.stderr).toBe(0)
    expect(sent.stdout).toContain(`delivered to ${b.peerId}`)
    // The control API is loopback-only: read through b's serve from inside b's namespace.
    const read = await h.run(['read', '--data', b.dir, '--room', 'lan', '--json'], inNs('b'))
    expect(read.code, read.stderr).toBe(0)
    expect(jsonLines(read.stdout).map((m) => m.text)).toEqual(['hello over mdns'])
  })

  it('[MDNS2] the connection runs over the veth pair, both ways', async () => {
    const [peers, back] = await Promise.all([
      h.run(['peers', '--data', b.dir], inNs('b')),
      h.run(['send', '--data', b.dir, '--timeout', '30', '--room', 'lan', 'and back'], inNs('b')),
    ])
    expect(peers.code, peers.stderr).toBe(0)
    const { connections } = JSON.parse(peers.stdout) as {
      connections: { peer: string; addrs: string[] }[]
    }
    const toA = connections.filter((c) => c.peer === a.peerId)
    expect(toA.length).toBeGreaterThan(0)
    expect(toA.flatMap((c) => c.addrs).some((x) => x.includes(`/ip4/${IP.a}/`))).toBe(true)
    expect(back.code, back.stderr).toBe(0)
    const read = await h.run(['read', '--data', a.dir, '--room', 'lan', '--json'], inNs('a'))
    expect(jsonLines(read.stdout).map((m) => m.text)).toEqual(['hello over mdns', 'and back'])
  })
})
