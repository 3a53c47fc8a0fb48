/**
 * The multi-host harness itself: three `parley serve` processes, each in a network namespace of
 * its own on one bridge (test/hosts/site.ts), that find each other by mDNS; and its controls —
 * partitions, a slow, lossy or delayed link, kill -9 and restart, a full disk, a clock 10 minutes off.
 * Needs root, iproute2, nftables, python3 and libfaketime (CI has them: .ci/run): without them it fails,
 * it does not skip. Timeouts are long: restarts take tens of seconds on a loaded 2-core machine.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { tcpRoundTripMs, tcpRoundTrips, udpReaches } from './probes.ts'
import { createSite, removeStaleSites, siteUnsupported, type Site } from './site.ts'
import { Hosts, skewUnsupported, unmountStale } from './hosts.ts'

describe('multi-host harness (network namespaces)', () => {
  let site: Site | undefined
  let hosts: Hosts | undefined

  beforeAll(async () => {
    const why = siteUnsupported() ?? skewUnsupported()
    if (why !== undefined) throw new Error(`hosts.netns.test.ts ${why}`)
    removeStaleSites()
    unmountStale()
    site = createSite(3, { subnet: 1 })
    hosts = new Hosts(site)
    await hosts.start({ diskMb: 48 })
  }, 300_000)

  afterAll(async () => {
    try {
      await hosts?.stop()
    } finally {
      site?.remove()
    }
  })

  const texts = async (i: number, room: string): Promise<string[]> =>
    (await hosts!.read(i, room)).map((m) => m.text)

  it('[HOST1] partitions cut both ways and heal; a lossy and a slow link', async () => {
    const s = site!
    expect(await udpReaches(s, 0, 1)).toBe(true)
    s.partition([[0], [1, 2]])
    expect(await udpReaches(s, 0, 1)).toBe(false)
    expect(await udpReaches(s, 1, 0)).toBe(false)
    expect(await udpReaches(s, 1, 2)).toBe(true)
    s.isolate(2)
    expect(await udpReaches(s, 1, 2)).toBe(false)
    s.heal()
    expect(await udpReaches(s, 2, 0)).toBe(true)
    s.shape(1, { lossPct: 100 })
    expect(await udpReaches(s, 1, 0)).toBe(false)
    s.shape(1, { rateKbit: 256 })
    expect(await udpReaches(s, 1, 0)).toBe(true)
    s.unshape(1)
    expect(s.describe()).toBe('all linked')
  }, 180_000)

  it('[HOST1b] a delay holds what a host sends, one way, and goes with unshape', async () => {
    const s = site!
    expect(await tcpRoundTripMs(s, 0, 1)).toBeLessThan(150)
    s.shape(1, { delayMs: 150 })
    expect(s.describe()).toBe('h1 delay 150ms')
    // The round trip crosses host 1's outgoing wire once, whichever end starts it.
    expect(await tcpRoundTripMs(s, 0, 1)).toBeGreaterThanOrEqual(150)
    expect(await tcpRoundTripMs(s, 1, 2)).toBeGreaterThanOrEqual(150)
    s.shape(1, { delayMs: 400, lossPct: 0 })
    expect(await tcpRoundTripMs(s, 2, 1)).toBeGreaterThanOrEqual(400)
    expect(await tcpRoundTripMs(s, 0, 2)).toBeLessThan(150)
    s.unshape(1)
    expect(s.describe()).toBe('all linked')
    expect(await tcpRoundTripMs(s, 0, 1)).toBeLessThan(150)
  }, 180_000)

  it('[HOST1c] a delay with jitter: each packet held 100 ± 60 ms, by netem or the wire', async () => {
    const s = site!
    s.shape(1, { delayMs: 100, jitterMs: 60 })
    expect(s.describe()).toBe('h1 delay 100ms ±60ms')
    const ms = await tcpRoundTrips(s, 0, 1, 30)
    console.log(`[HOST1c] delay by ${s.delayBy}: round trips ${ms.map(Math.round).join(' ')} ms`)
    // Never below the floor; spread over the window (a busy machine adds, it does not spread 30
    // round trips of a quiet link by 40 ms: uniform on ±60, all 30 within 40 ms has p ≈ 1e-13).
    expect(Math.min(...ms)).toBeGreaterThanOrEqual(40)
    expect(Math.max(...ms) - Math.min(...ms)).toBeGreaterThanOrEqual(40)
    s.unshape(1)
    expect(s.describe()).toBe('all linked')
    expect(await tcpRoundTripMs(s, 0, 1)).toBeLessThan(40)
  }, 180_000)

  it('[HOST2] serves found by mDNS carry messages; a partitioned host catches up after the heal', async () => {
    const h = hosts!
    for (let i = 0; i < 3; i++) {
      expect(h.served[i]!.proc.lines).toContain('mDNS: on')
      expect(await h.send(i, 'lan', `hello from h${i}`, 20_000)).toMatchObject({
        kind: 'delivered',
      })
    }
    site!.isolate(2)
    expect(await h.send(0, 'lan', 'while h2 is away', 10_000)).toMatchObject({ kind: 'delivered' })
    site!.heal()
    const want = ['hello from h0', 'hello from h1', 'hello from h2', 'while h2 is away']
    for (let i = 0; i < 3; i++)
      await vi.waitFor(async () => expect(await texts(i, 'lan')).toEqual(want), {
        timeout: 40_000,
        interval: 250,
      })
  }, 180_000)

  it('[HOST3] kill -9 and restart on the same directory: history kept, messages flow again', async () => {
    const h = hosts!
    await h.kill(1)
    expect(await h.send(1, 'lan', 'nobody home', 1_000)).toMatchObject({ kind: 'unsent' })
    expect(await h.send(0, 'lan', 'while h1 is dead', 10_000)).toMatchObject({
      kind: 'delivered',
    })
    await h.restart(1)
    await vi.waitFor(async () => expect(await texts(1, 'lan')).toContain('while h1 is dead'), {
      timeout: 40_000,
      interval: 250,
    })
    expect(await h.send(1, 'lan', 'back again', 20_000)).toMatchObject({ kind: 'delivered' })
  }, 180_000)

  it('[HOST4] a full disk: the send is refused by name, the serve lives on, and catches up once freed', async () => {
    const h = hosts!
    expect(h.fillDisk(2)).toBeGreaterThan(0)
    const refused = await h.send(2, 'disk', 'on a full disk', 5_000)
    expect(refused).toMatchObject({ kind: 'refused' })
    expect(refused.kind === 'refused' && refused.why).toMatch(/^500 .*disk is full/)
    expect(await h.send(0, 'disk', 'to a full disk', 10_000)).toMatchObject({ kind: 'delivered' })
    expect(h.running(2)).toBe(true)
    h.freeDisk(2)
    await vi.waitFor(async () => expect(await texts(2, 'disk')).toEqual(['to a full disk']), {
      timeout: 40_000,
      interval: 250,
    })
    expect(await texts(2, 'lan')).toContain('back again')
  }, 180_000)

  it('[HOST5] a clock 10 minutes behind, then ahead: new messages still come after what the peer held', async () => {
    const h = hosts!
    for (const skew of [-10, 10]) {
      await h.kill(0)
      await h.restart(0, skew)
      const before = await texts(0, 'lan')
      const text = `written with the clock ${skew} min off`
      expect(await h.send(0, 'lan', text, 20_000)).toMatchObject({ kind: 'delivered' })
      for (let i = 0; i < 3; i++)
        await vi.waitFor(async () => expect(await texts(i, 'lan')).toEqual([...before, text]), {
          timeout: 40_000,
          interval: 250,
        })
    }
    await h.kill(0)
    await h.restart(0, 0)
  }, 180_000)

  it('[HOST6] air-gapped: through discovery, chat, files, kills and restarts no packet tried to leave the LAN', async () => {
    const h = hosts!
    const dir = mkdtempSync(join(tmpdir(), 'parley-airgap-'))
    try {
      const file = join(dir, 'plan.bin')
      const bytes = randomBytes(3 << 20)
      writeFileSync(file, bytes)
      const sent = await h.cli(1, [
        'send',
        '--room',
        'files',
        '--timeout',
        '60',
        '--file',
        file,
        'the plan',
      ])
      expect(sent.code, sent.stderr).toBe(0)
      const fileId = /file ([0-9a-f]{64}) held by/.exec(sent.stdout)?.[1]
      expect(fileId, sent.stdout).toBeDefined()
      await vi.waitFor(async () => expect(await texts(2, 'files')).toEqual(['the plan']), {
        timeout: 40_000,
        interval: 250,
      })
      const out = join(dir, 'got.bin')
      const got = await h.cli(2, ['get', fileId!, '--out', out])
      expect(got.code, got.stderr).toBe(0)
      expect(readFileSync(out).equals(bytes)).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    expect(site!.leaks()).toEqual([0, 0, 0])
  }, 180_000)
})
