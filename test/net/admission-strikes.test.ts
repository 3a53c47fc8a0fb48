/** Which admission timeouts keep a peer out ([STRK*], admission-strikes.ts). */
import { describe, expect, it } from 'vitest'
import { AdmissionStrikes } from '../../src/net/admission-strikes.ts'
import { ADMISSION_TIMEOUT_STRIKES, MAX_BLOCKED_PEERS } from '../../src/net/constants.ts'

/** Whether each of `n` timeouts in a row of `peer` strikes it out. */
function lateTimes(s: AdmissionStrikes, peer: string, n: number, bootstrap = false): boolean[] {
  return Array.from({ length: n }, () => s.late(peer, bootstrap))
}

const STRUCK_OUT = [...Array<boolean>(ADMISSION_TIMEOUT_STRIKES - 1).fill(false), true]

describe('AdmissionStrikes', () => {
  it('[STRK1] a stranger is struck out by its ADMISSION_TIMEOUT_STRIKES-th timeout in a row, then starts over', () => {
    const s = new AdmissionStrikes()
    expect(lateTimes(s, 'x', ADMISSION_TIMEOUT_STRIKES)).toEqual(STRUCK_OUT)
    expect(lateTimes(s, 'x', ADMISSION_TIMEOUT_STRIKES)).toEqual(STRUCK_OUT)
    // per peer
    expect(s.late('y', false)).toBe(false)
  })

  it('[STRK2] a bootstrap peer, or one admitted before, is never struck out; admission forgives', () => {
    const s = new AdmissionStrikes()
    expect(lateTimes(s, 'served-by', 10, true)).not.toContain(true)
    s.admitted('member')
    expect(lateTimes(s, 'member', 10)).not.toContain(true)
    lateTimes(s, 'newcomer', ADMISSION_TIMEOUT_STRIKES - 1)
    s.admitted('newcomer')
    expect(lateTimes(s, 'newcomer', 10)).not.toContain(true)
  })

  it('[STRK3] memory is bounded: the oldest strangers and known peers are forgotten first', () => {
    const s = new AdmissionStrikes()
    s.admitted('old member')
    for (let i = 0; i < MAX_BLOCKED_PEERS; i++) s.admitted(`member ${i}`)
    expect(lateTimes(s, 'old member', ADMISSION_TIMEOUT_STRIKES)).toEqual(STRUCK_OUT)
    expect(lateTimes(s, 'member 0', 10)).not.toContain(true)
  })
})
