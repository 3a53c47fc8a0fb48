/**
 * `parley serve` on a data directory made before organisations existed (history, no org): it makes
 * the organisation, keeps the history, and says so — what happens to the old history and accounts,
 * and who becomes admin. Real `bin/parley.js` processes.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { CliHarness } from '../helpers/cli.ts'

describe('serve on a data directory from before organisations', () => {
  const h = new CliHarness()
  afterEach(() => h.cleanup())

  it('[UPG1] the org is made, the history kept and readable, and the operator told what changed', async () => {
    const dir = h.tmpDir()
    // an open peer (no org): what a directory written before organisations holds
    const sent = await h.run([
      'send',
      '--data',
      dir,
      '--timeout',
      '0',
      '--room',
      'old',
      'from 2025',
    ])
    expect(sent.code).toBe(3) // stored, no peer to deliver to
    const s = await h.serve(dir)
    expect(s.proc.lines).toContain(
      'organisation created on a data directory with history from before organisations (1 room): its root key is kept here',
    )
    expect(s.proc.lines.some((l) => l.startsWith('old history: kept on disk'))).toBe(true)
    expect(s.proc.lines.some((l) => l.startsWith('old browser accounts: cannot connect'))).toBe(
      true,
    )
    expect(s.proc.lines.some((l) => l.startsWith('organisation: Parley (id '))).toBe(true)
    const read = await h.run(['read', '--data', dir, '--room', 'old'])
    expect(read.stdout).toContain('from 2025')
    await s.stop()
    // the next run opens the same org and says nothing more
    const again = await h.serve(dir)
    expect(again.proc.lines.some((l) => l.startsWith('organisation created'))).toBe(false)
    expect(again.proc.lines.some((l) => l.startsWith('organisation: Parley (id '))).toBe(true)
    expect((await h.run(['read', '--data', dir, '--room', 'old'])).stdout).toContain('from 2025')
    await again.stop()
    // a fresh directory is told its org was made, without the upgrade notes
    const fresh = await h.serve(h.tmpDir())
    expect(fresh.proc.lines).toContain(
      'organisation created: its root key is kept in this data directory',
    )
    expect(fresh.proc.lines.some((l) => l.startsWith('old history'))).toBe(false)
  })
})
