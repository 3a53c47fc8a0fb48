/**
 * The org from the command line, with real processes: init, serve, invite, join, members, send
 * between members, revoke (the revoked peer is cut off and its new messages refused), role.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { CliHarness, jsonLines } from '../helpers/cli.ts'

const h = new CliHarness()
afterEach(() => h.cleanup())

const ok = (r: { code: number | null; stderr: string }): void => {
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
}

describe('parley org commands', () => {
  it('[OCLI1] init, invite, join, members, send, role, revoke', { timeout: 240_000 }, async () => {
    const office = h.tmpDir()
    const init = await h.run(['init', '--data', office, '--org', 'Acme Ltd'])
    ok(init)
    expect(init.stdout).toMatch(/^organisation Acme Ltd created \(id [A-Za-z0-9_-]{43}\)$/m)
    expect((await h.run(['init', '--data', office, '--org', 'Again'])).code).toBe(1)

    const a = await h.serve(office)
    expect(a.proc.lines).toContainEqual(expect.stringMatching(/^organisation: Acme Ltd \(id /))
    const inv = await h.run(['invite', '--data', office, '--role', 'peer', '--expires', '1d'])
    ok(inv)
    const code = inv.stdout.split('\n')[1]!
    expect(code).toMatch(/^[A-Za-z0-9_-]{200,}$/)
    expect(inv.stdout).toMatch(/^https:\/\/[^/]+:\d+\/#invite=[A-Za-z0-9_-]+$/m)

    const branch = h.tmpDir()
    const joined = await h.run(['join', '--data', branch, code])
    ok(joined)
    expect(joined.stdout).toMatch(/^joined Acme Ltd as node-[0-9a-f]{8} \(peer\)$/m)
    const userId = /as (node-[0-9a-f]{8})/.exec(joined.stdout)![1]!
    // the same code again, on a third directory: a certificate nobody accepts
    const thief = h.tmpDir()
    ok(await h.run(['join', '--data', thief, code]))

    const b = await h.serve(branch) // dials the addresses the code carried
    ok(await h.run(['send', '--data', branch, '--room', 'general', 'hello from the branch']))
    const read = await h.run(['read', '--data', office, '--room', 'general', '--json'])
    ok(read)
    expect(jsonLines(read.stdout).map((m) => m.text)).toEqual(['hello from the branch'])

    const members = await h.run(['members', '--data', office])
    ok(members)
    expect(members.stdout).toMatch(new RegExp(`^${userId}\\tpeer\\t`, 'm'))

    const t = await h.serve(thief, ['--peer', a.addr])
    const stolen = await h.run([
      'send',
      '--data',
      thief,
      '--timeout',
      '3',
      '--room',
      'general',
      'x',
    ])
    expect(stolen.code).toBe(3) // nobody acknowledges: refused admission everywhere
    await t.stop()

    const refusedRole = await h.run(['role', '--data', office, userId, 'admin'])
    expect(refusedRole.code).toBe(1) // a Node peer has no person's role
    const rev = await h.run(['revoke', '--data', office, userId])
    ok(rev)
    expect(rev.stdout).toBe(`revoked ${userId}`)
    const after = await h.run(['members', '--data', office])
    expect(after.stdout).toMatch(new RegExp(`^${userId}\\tpeer \\(revoked\\)`, 'm'))
    const late = await h.run(['send', '--data', branch, '--timeout', '3', '--room', 'general', 'y'])
    expect(late.code).toBe(3)
    const again = await h.run(['read', '--data', office, '--room', 'general', '--json'])
    expect(jsonLines(again.stdout).map((m) => m.text)).toEqual(['hello from the branch'])
    await b.stop()
  })

  it('[OCLI2] usage errors and a bad code', async () => {
    const dir = h.tmpDir()
    expect((await h.run(['init', '--data', dir])).code).toBe(2)
    expect((await h.run(['invite', '--data', dir, '--expires', 'soon'])).code).toBe(2)
    expect((await h.run(['role', '--data', dir, 'bob', 'king'])).code).toBe(2)
    const bad = await h.run(['join', '--data', dir, 'not-a-code'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/Invalid invite code/)
    const none = await h.run(['members', '--data', dir])
    expect(none.code).toBe(2)
  })
})
