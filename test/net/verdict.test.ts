/** The admission verdict frame (src/net/verdict.ts): pure encode/decode of refusal reasons. */
import { describe, expect, it } from 'vitest'
import { MAX_REFUSAL_BYTES } from '../../src/net/index.ts'
import {
  MAX_VERDICT_BYTES,
  boundedReason,
  decodeVerdict,
  encodeVerdict,
} from '../../src/net/verdict.ts'

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const frame = (...parts: (number | Uint8Array)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...p])))

describe('admission verdict frames', () => {
  it('[VRD1] admitted and refused verdicts round-trip; a refusal without reason is one byte, as older peers send it', () => {
    expect(encodeVerdict({ admitted: true })).toEqual(Uint8Array.of(1))
    expect(decodeVerdict(Uint8Array.of(1))).toEqual({ admitted: true })
    expect(encodeVerdict({ admitted: false, code: 0, reason: '' })).toEqual(Uint8Array.of(0))
    expect(decodeVerdict(Uint8Array.of(0))).toEqual({ admitted: false, code: 0, reason: '' })
    const refused = { admitted: false as const, code: 3, reason: 'revoked (carol) — sorry' }
    expect(decodeVerdict(encodeVerdict(refused))).toEqual(refused)
  })

  it('[VRD2] the sender bounds its reason: cut to MAX_REFUSAL_BYTES on a character, controls made spaces, a bad code sent as 0', () => {
    const long = 'é'.repeat(MAX_REFUSAL_BYTES) // 2 bytes each
    const sent = encodeVerdict({ admitted: false, code: 1, reason: long })
    expect(sent.byteLength).toBeLessThanOrEqual(MAX_VERDICT_BYTES)
    const got = decodeVerdict(sent)
    expect(got).toMatchObject({
      admitted: false,
      code: 1,
      reason: 'é'.repeat(MAX_REFUSAL_BYTES / 2),
    })
    expect(boundedReason('a\nb\u202Ec\u0000d')).toBe('a b c d')
    expect(decodeVerdict(encodeVerdict({ admitted: false, code: 999, reason: 'x' }))).toEqual({
      admitted: false,
      code: 0,
      reason: 'x',
    })
  })

  it('[VRD3] a malformed reason is dropped (the refusal stands, code 0, with why); garbage is no verdict', () => {
    expect(decodeVerdict(frame(0, 3, Uint8Array.of(0xff, 0xfe)))).toEqual({
      admitted: false,
      code: 0,
      reason: '',
      dropped: 'reason is not UTF-8',
    })
    expect(decodeVerdict(frame(0, 3, utf8('click\u202Egro.live')))).toMatchObject({
      code: 0,
      reason: '',
      dropped: 'reason holds control characters',
    })
    for (const bad of [
      new Uint8Array(0),
      Uint8Array.of(2),
      Uint8Array.of(1, 0),
      frame(0, 1, new Uint8Array(MAX_REFUSAL_BYTES + 1).fill(0x61)),
    ])
      expect(() => decodeVerdict(bad)).toThrow(
        expect.objectContaining({ name: 'InvalidFrameError' }),
      )
  })
})
