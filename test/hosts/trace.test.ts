/**
 * [CHAOS3] The chaos trace line: per host, the messages reported as sent that it lacks, by the host
 * that sent them, and the hosts it is linked to (peer ids it cannot name are shortened).
 */
import { describe, expect, it } from 'vitest'
import { traceLine } from './chaos.ts'
import type { SendRecord } from './checker.ts'

describe('chaos trace', () => {
  it('[CHAOS3] counts what each host lacks by sender and names its links', () => {
    const sends: SendRecord[] = [
      { host: 0, text: 'a', outcome: { kind: 'delivered', id: 'a' } },
      { host: 0, text: 'b', outcome: { kind: 'queued', id: 'b' } },
      { host: 1, text: 'c', outcome: { kind: 'delivered', id: 'c' } },
      { host: 1, text: 'd', outcome: { kind: 'unsent', why: 'NOSERVE' } },
    ]
    const line = traceLine(
      sends,
      [[{ id: 'a' }, { id: 'b' }, { id: 'c' }], [{ id: 'c' }], []],
      [['P1', 'P2'], ['P0', 'stranger-123456'], []],
      ['P0', 'P1', 'P2'],
    )
    expect(line).toBe(
      'h0 lacks 0 links h1,h2 | h1 lacks 2 (h0 2) links 123456,h0 | h2 lacks 3 (h0 2, h1 1) links -',
    )
  })
})
