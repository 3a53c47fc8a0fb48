/**
 * The admission verdict frame (admit-protocol.ts), pure encode/decode:
 *
 * ```
 * admitted:  [1]
 * refused:   [0]                           no reason (also what older peers send)
 *            [0][code][reason, UTF-8]      reason ≤ MAX_REFUSAL_BYTES, no control characters
 * ```
 * A refusal's reason is the refusing peer's word: shown and logged, never trusted. A reason that
 * is not valid UTF-8 or holds control or bidirectional-override characters is dropped (the
 * verdict stands, with code 0).
 */
import { MAX_REFUSAL_BYTES } from './constants.ts'
import { InvalidFrameError } from './errors.ts'

/** The largest verdict frame. */
export const MAX_VERDICT_BYTES = 2 + MAX_REFUSAL_BYTES

export interface Refused {
  admitted: false
  code: number
  reason: string
  /** Why the sender's reason was dropped (malformed), if it was. */
  dropped?: string
}

export type Verdict = { admitted: true } | Refused

export const ADMITTED: Verdict = { admitted: true }
export const REFUSED: Refused = { admitted: false, code: 0, reason: '' }

// C0 and C1 controls, DEL, bidi embeddings, overrides and isolates, line/paragraph separators
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g

const enc = new TextEncoder()

/** `text` made safe to send: unsafe characters become spaces, cut to the byte limit on a character. */
export function boundedReason(text: string): string {
  let out = text.replace(UNSAFE, ' ')
  while (enc.encode(out).byteLength > MAX_REFUSAL_BYTES) out = [...out].slice(0, -1).join('')
  return out
}

export function encodeVerdict(v: Verdict): Uint8Array {
  if (v.admitted) return Uint8Array.of(1)
  if (v.code === 0 && v.reason === '') return Uint8Array.of(0)
  const code = Number.isInteger(v.code) && v.code >= 0 && v.code <= 255 ? v.code : 0
  const text = enc.encode(boundedReason(v.reason))
  const out = new Uint8Array(2 + text.byteLength)
  out[1] = code
  out.set(text, 2)
  return out
}

/**
 * The verdict `frame` says. Throws `InvalidFrameError` when it is no verdict at all (empty, an
 * unknown first byte, bytes after "admitted", over {@link MAX_VERDICT_BYTES}); a malformed reason
 * only drops the reason.
 */
export function decodeVerdict(frame: Uint8Array): Verdict {
  if (frame.byteLength === 0 || frame.byteLength > MAX_VERDICT_BYTES)
    throw new InvalidFrameError(`Admission verdict of ${frame.byteLength} bytes`)
  if (frame[0] === 1) {
    if (frame.byteLength !== 1) throw new InvalidFrameError('Bytes after an admitted verdict')
    return ADMITTED
  }
  if (frame[0] !== 0) throw new InvalidFrameError(`Unknown admission verdict ${frame[0]}`)
  if (frame.byteLength === 1) return REFUSED
  let reason: string
  try {
    reason = new TextDecoder('utf-8', { fatal: true }).decode(frame.subarray(2))
  } catch {
    return { ...REFUSED, dropped: 'reason is not UTF-8' }
  }
  if (new RegExp(UNSAFE.source).test(reason))
    return { ...REFUSED, dropped: 'reason holds control characters' }
  return { admitted: false, code: frame[1]!, reason }
}
