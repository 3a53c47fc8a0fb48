/**
 * The `parley` command end to end: real processes (bin/parley.js), real data directories, TCP on
 * loopback, mDNS off (it would multicast on the host's interfaces).
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CliHarness, jsonLines, type Served } from '../helpers/cli.ts'
import { parseCli } from '../../src/node/cli.ts'

const NO_MDNS = '--no-mdns'

describe('parley CLI: arguments', () => {
  const h = new CliHarness()
  afterEach(() => h.cleanup())

  it('[CLI1] --help on every command: usage, exit 0', async () => {
    for (const cmd of ['serve', 'send', 'read', 'rooms', 'peers', 'dial', 'help'])
      expect(parseCli([cmd, '--help'])).toBe('help')
    expect(parseCli([])).toBe('help')
    expect(parseCli(['-h'])).toBe('help')
    const [top, send] = await Promise.all([
      h.run(['--help']),
      h.run(['send', '--room', 'x', '--help']),
    ])
    for (const r of [top, send]) {
      expect(r.code).toBe(0)
      for (const cmd of ['serve', 'send', 'read', 'rooms', 'peers', 'dial', '--peer', '--data'])
        expect(r.stdout).toContain(cmd)
    }
  })

  it('[CLI2] a bad command or option: exit 2 and a message naming it', async () => {
    const dir = h.tmpDir()
    const [unknown, badFlag, noRoom, badTimeout, noText] = await Promise.all([
      h.run(['frobnicate', '--data', dir, NO_MDNS]),
      h.run(['rooms', '--data', dir, '--bogus']),
      h.run(['read', '--data', dir, NO_MDNS]),
      h.run(['send', '--data', dir, '--timeout', 'soon', '--room', 'x', 'hi']),
      h.run(['send', '--data', dir, NO_MDNS, '--room', 'x']),
    ])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('frobnicate')
    expect(badFlag.code).toBe(2)
    expect(badFlag.stderr).toContain('--bogus')
    expect(noRoom.code).toBe(2)
    expect(noRoom.stderr).toContain('--room')
    expect(badTimeout.code).toBe(2)
    expect(badTimeout.stderr).toContain('--timeout')
    expect(noText.code).toBe(2)
    expect(noText.stderr).toContain('text')
    // Refused before a peer started: nothing was written to the data directory.
    expect(existsSync(join(dir, 'history.db'))).toBe(false)
  })
})

describe('parley CLI: serve', () => {
  const h = new CliHarness()
  afterEach(() => h.cleanup())

  it('[CLI3] prints its peer id, addresses and ready; SIGINT and SIGTERM stop it cleanly', async () => {
    const dir = h.tmpDir()
    const setups: string[] = []
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const s = await h.serve(dir)
      expect(s.peerId).toMatch(/^12D3KooW/)
      expect(s.addr).toContain(`/p2p/${s.peerId}`)
      expect(s.webPort).toBeGreaterThan(0)
      expect(s.proc.lines).toContain('mDNS: off')
      expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(String(s.proc.pid))
      // The first serve made the organisation; a page on this machine is offered its setup
      // invitation (the same one after a restart) while it has no admin.
      const info = (await (await fetch(`http://127.0.0.1:${s.webPort}/api/info`)).json()) as {
        peerId: string
        org: { name: string; setup: string }
      }
      expect(info).toMatchObject({ peerId: s.peerId, org: { name: 'Parley' } })
      setups.push(info.org.setup)
      expect(s.proc.lines).toContain(
        `first admin: the first account made at http://localhost:${s.webPort}/ on this machine becomes the organisation's admin`,
      )
      // A follower through the serve is told when the serve goes away. (No peer: the send is
      // stored and reported as not delivered at once.)
      const note = `before ${signal}`
      expect(
        (await h.run(['send', '--data', dir, '--timeout', '0', '--room', 'r', note])).code,
      ).toBe(3)
      const follow = h.spawn(['read', '--data', dir, '--room', 'r', '--follow'])
      await follow.line(note)
      const r = await s.stop(signal)
      expect(r).toMatchObject({ code: 0, signal: null })
      const followed = await follow.exited
      expect(followed.code).toBe(1)
      expect(followed.stderr).toContain(
        `parley serve (pid ${s.proc.pid}) of this data directory stopped`,
      )
      expect(r.stdout).toContain(`${signal}: stopping`)
      expect(existsSync(join(dir, 'LOCK'))).toBe(false)
      expect(existsSync(join(dir, 'control.json'))).toBe(false)
    }
    expect(setups[0]).toMatch(/^[\w-]{100,}$/)
    expect(setups[1]).toBe(setups[0])
  }, 120_000) // starting peers, invitations and joins: several processes each

  it('[CLI4] a second serve on a locked data directory fails, naming the directory and pid; so does a busy port', async () => {
    const dir = h.tmpDir()
    const s = await h.serve(dir)
    const second = await h.run(['serve', '--data', dir, '--port', '0', '--tcp-port', '0', NO_MDNS])
    expect(second.code).not.toBe(0)
    expect(second.stderr).toContain(dir)
    expect(second.stderr).toContain(`pid ${s.proc.pid}`)
    expect(s.proc.running).toBe(true)
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(String(s.proc.pid))
    // A web port in use: a clear error, and the other directory is not left locked.
    const other = h.tmpDir()
    const busy = await h.run([
      'serve',
      '--data',
      other,
      '--port',
      String(s.webPort),
      '--tcp-port',
      '0',
    ])
    expect(busy.code).not.toBe(0)
    expect(busy.stderr).toContain(`cannot listen on 0.0.0.0:${s.webPort}`)
    expect(existsSync(join(other, 'LOCK'))).toBe(false)
  })
})

describe('parley CLI: two serves', () => {
  const h = new CliHarness()
  let a: Served
  let b: Served
  afterAll(() => h.cleanup())

  it('[CLI5] send through a serve exits 0 once the other peer holds it; read --json shows it there', async () => {
    a = await h.serve(h.tmpDir())
    b = await h.serve(await h.joined(a), ['--peer', a.addr])
    const sent = await h.run(['send', '--data', a.dir, '--room', 'general', 'hello', 'world'])
    expect(sent.stderr).toBe('')
    expect(sent.code).toBe(0)
    expect(sent.stdout).toContain(`delivered to ${b.peerId}`)
    const read = await h.run(['read', '--data', b.dir, '--room', 'general', '--json'])
    expect(read.code).toBe(0)
    const [m, ...rest] = jsonLines(read.stdout)
    expect(rest).toEqual([])
    expect(m).toMatchObject({ text: 'hello world' })
    expect(Object.keys(m!).sort()).toEqual(['author', 'id', 'text', 'time'])
    expect(sent.stdout).toContain(m!.id)
    expect(Number.isNaN(Date.parse(m!.time))).toBe(false)
  }, 120_000) // starting peers, invitations and joins: several processes each

  it('[CLI6] rooms are created on first use; rooms and peers work through the serve', async () => {
    const [roomsA, roomsB, peersA] = await Promise.all([
      h.run(['rooms', '--data', a.dir]),
      h.run(['rooms', '--data', b.dir]),
      h.run(['peers', '--data', a.dir]),
    ])
    expect(roomsA).toMatchObject({ code: 0, stdout: 'general' })
    expect(roomsB).toMatchObject({ code: 0, stdout: 'general' })
    expect(peersA.code).toBe(0)
    const peers = JSON.parse(peersA.stdout) as {
      connections: { peer: string }[]
      people: { peer: string }[]
    }
    expect(peers.connections.map((c) => c.peer)).toContain(b.peerId)
    expect(peers.people.map((p) => p.peer)).toContain(a.peerId)
  })

  it('[CLI7] read --follow prints the history, then new messages as they arrive', async () => {
    const follow = h.spawn(['read', '--data', b.dir, '--room', 'general', '--follow', '--json'])
    await follow.line('hello world')
    const [one, two] = await Promise.all([
      h.run(['send', '--data', a.dir, '--room', 'general', 'from a']),
      h.run(['send', '--data', b.dir, '--room', 'general', 'from b']),
    ])
    expect([one.code, two.code]).toEqual([0, 0])
    await follow.line('"from a"')
    await follow.line('"from b"')
    follow.kill('SIGINT')
    expect((await follow.exited).code).toBe(0)
    const texts = jsonLines(follow.lines.join('\n')).map((m) => m.text)
    expect(texts.slice(0, 1)).toEqual(['hello world'])
    expect(texts.slice(1).sort()).toEqual(['from a', 'from b'])
  })

  it('[CLI8] both peers print the history in the same display order', async () => {
    const [ra, rb] = await Promise.all([
      h.run(['read', '--data', a.dir, '--room', 'general', '--json']),
      h.run(['read', '--data', b.dir, '--room', 'general']),
    ])
    const lines = jsonLines(ra.stdout)
    expect(lines.map((m) => m.text).slice(0, 1)).toEqual(['hello world'])
    expect(lines).toHaveLength(3)
    const times = lines.map((m) => Date.parse(m.time))
    expect([...times].sort((x, y) => x - y)).toEqual(times)
    // The human format on the other peer: same messages, same order.
    const texts = rb.stdout.split('\n').map((l) => l.replace(/^\[[^\]]+\] \S+: /, ''))
    expect(texts).toEqual(lines.map((m) => m.text))
  })

  it('[CLI9] dial MULTIADDR and --peer connect a running serve; --peer works on a one-shot command', async () => {
    const c = await h.serve(await h.joined(a))
    const dialed = await h.run(['dial', '--data', c.dir, a.addr])
    expect(dialed).toMatchObject({ code: 0, stdout: `connected to ${a.peerId}` })
    const peers = await h.run(['peers', '--data', c.dir, '--peer', b.addr])
    expect(peers.code, peers.stderr).toBe(0)
    const { connections } = JSON.parse(peers.stdout) as { connections: { peer: string }[] }
    expect(connections.map((x) => x.peer)).toEqual(expect.arrayContaining([a.peerId, b.peerId]))
    const fresh = await h.joined(a)
    const read = await h.run([
      'read',
      '--data',
      fresh,
      NO_MDNS,
      '--peer',
      a.addr,
      '--room',
      'general',
      '--json',
    ])
    expect(read.code, read.stderr).toBe(0)
    expect(jsonLines(read.stdout), read.stderr).toHaveLength(3)
    const standaloneDial = await h.run(['dial', '--data', fresh, NO_MDNS, b.addr])
    expect(standaloneDial, standaloneDial.stderr).toMatchObject({
      code: 0,
      stdout: `connected to ${b.peerId}`,
    })
  }, 120_000) // starting peers, invitations and joins: several processes each

  it('[CLI10] a one-shot read --follow --peer prints history, then new messages; SIGINT ends it', async () => {
    const follow = h.spawn([
      'read',
      '--data',
      await h.joined(a),
      '--peer',
      b.addr,
      '--room',
      'general',
      '--follow',
      '--json',
    ])
    await follow.line('"from b"')
    const sent = await h.run(['send', '--data', a.dir, '--room', 'general', 'to a follower'])
    expect(sent.code, sent.stderr).toBe(0)
    await follow.line('"to a follower"')
    follow.kill('SIGINT')
    expect((await follow.exited).code).toBe(0)
    const texts = jsonLines(follow.lines.join('\n')).map((m) => m.text)
    expect(texts).toHaveLength(4)
    expect(texts.at(-1)).toBe('to a follower')
  }, 120_000) // starting peers, invitations and joins: several processes each
})

// One test at a time: each runs several peer processes, and under load a concurrent start of them
// outlasted the harness's 30 s per process.
describe('parley CLI: no reachable peer', () => {
  const h = new CliHarness()
  let a: Served
  /** Directories of a's organisation whose invite codes name addresses a no longer listens on. */
  const members: string[] = []
  beforeAll(async () => {
    const dirA = h.tmpDir()
    const first = await h.serve(dirA)
    for (let i = 0; i < 3; i++) members.push(await h.joined(first))
    await first.stop()
    a = await h.serve(dirA) // new ports: the members' peers find nobody by themselves
  }, 120_000)
  afterAll(() => h.cleanup())
  /** A one-shot send that finds no peer: it gives up after 2 s. */
  const sendAlone = (dir: string, room: string, text: string) =>
    h.run(['send', '--data', dir, NO_MDNS, '--timeout', '2', '--room', room, text], {
      timeoutMs: 60_000,
    })
  const textsOn = async (dir: string, room: string): Promise<string[]> => {
    const r = await h.run(['read', '--data', dir, '--room', room, '--json'])
    expect(r.code).toBe(0)
    return jsonLines(r.stdout).map((m) => m.text)
  }

  it('[CLI11] send exits non-zero with a clear message; the next run with a peer delivers it', async () => {
    const dir = members[0]!
    const queued = await sendAlone(dir, 'later', 'queued hello')
    expect(queued.code).toBe(3)
    expect(queued.stderr).toContain('no other peer acknowledged the message within 2 s')
    expect(queued.stderr).toContain(dir)
    // Any command is a next run: here `dial`, which has no reason to sync anything.
    const next = await h.run(['dial', '--data', dir, NO_MDNS, a.addr])
    expect(next).toMatchObject({ code: 0, stdout: `connected to ${a.peerId}` })
    expect(await textsOn(a.dir, 'later')).toEqual(['queued hello'])
  }, 120_000) // starting peers, invitations and joins: several processes each

  it('[CLI12] the next send run delivers the queued message with the new one', async () => {
    const dir = members[1]!
    expect((await sendAlone(dir, 'later2', 'first')).code).toBe(3)
    const next = await h.run([
      'send',
      '--data',
      dir,
      NO_MDNS,
      '--peer',
      a.addr,
      '--room',
      'later2',
      'second',
    ])
    expect(next.code).toBe(0)
    expect(next.stdout).toContain(`delivered to ${a.peerId}`)
    expect(await textsOn(a.dir, 'later2')).toEqual(['first', 'second'])
  }, 120_000) // starting peers, invitations and joins: several processes each

  it('[CLI13] a message queued by a one-shot send goes out from serve on that directory', async () => {
    const dir = members[2]!
    expect((await sendAlone(dir, 'later3', 'kept for serve')).code).toBe(3)
    const follow = h.spawn(['read', '--data', a.dir, '--room', 'later3', '--follow', '--json'])
    await h.serve(dir, ['--peer', a.addr])
    await follow.line('"kept for serve"')
  }, 120_000) // starting peers, invitations and joins: several processes each

  it('[CLI14] a send through a serve with no peer exits non-zero; that serve delivers it later', async () => {
    const lonely = await h.serve(h.tmpDir())
    const queued = await h.run([
      'send',
      '--data',
      lonely.dir,
      '--timeout',
      '2',
      '--room',
      'solo',
      'wait for me',
    ])
    expect(queued.code).toBe(3)
    expect(queued.stderr).toContain(lonely.dir)
    const other = await h.serve(await h.joined(lonely), ['--peer', lonely.addr])
    const follow = h.spawn(['read', '--data', other.dir, '--room', 'solo', '--follow', '--json'])
    await follow.line('"wait for me"')
  }, 120_000) // starting peers, invitations and joins: several processes each
})
