/**
 * Shape checks for untrusted JSON values (decoded from Yjs updates), without `as`: the building blocks
 * of the record guards in ./schema.ts.
 */
import { isHlc } from './hlc.ts'

const AUTHOR_ID_RE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/

/** Whether `v` is an author id: canonical unpadded base64url of 32 bytes (43 characters). */
export function isAuthorId(v: unknown): v is string {
  // the last character carries 4 bits of key and 2 zero bits: only 16 characters are canonical
  return typeof v === 'string' && AUTHOR_ID_RE.test(v)
}

/** Whether `v` is an array of at most `max` distinct author ids. */
export function isAuthorSet(v: unknown, max: number): v is string[] {
  return Array.isArray(v) && v.length <= max && v.every(isAuthorId) && new Set(v).size === v.length
}

/** UTF-8 length of `s` (a lone surrogate counts 3, as `TextEncoder` writes U+FFFD for it). */
export function utf8Length(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    const pair = c >= 0xd800 && c < 0xdc00 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3
    if (pair) i++
  }
  return n
}

/** Whether `v` is a string of at most `maxBytes` UTF-8 bytes. */
export function isText(v: unknown, maxBytes: number): v is string {
  return typeof v === 'string' && (v.length * 3 <= maxBytes || utf8Length(v) <= maxBytes)
}

/**
 * Whether `v` is a plain object (prototype `Object.prototype`: a decoded `__proto__` key would change
 * it) whose own keys are exactly `keys`, plus `optional` if present.
 */
export function hasKeys<K extends string>(
  v: unknown,
  keys: readonly K[],
  optional?: string | readonly string[],
): v is Record<K, unknown> {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype)
    return false
  const required: readonly string[] = keys
  return (
    required.every((k) => Object.hasOwn(v, k)) &&
    Object.keys(v).every(
      (k) =>
        required.includes(k) || k === optional || (Array.isArray(optional) && optional.includes(k)),
    )
  )
}

/** Whether `wall` and `count` form a valid hybrid logical clock reading. */
export function hasClock(v: { wall: unknown; count: unknown }): boolean {
  const { wall, count } = v
  return typeof wall === 'number' && typeof count === 'number' && isHlc({ wall, count })
}

// With the `u` flag a surrogate class matches only unpaired surrogates (pairs are one code point).
const LONE_SURROGATE = /[\uD800-\uDFFF]/gu

/**
 * `s` with each lone surrogate replaced by U+FFFD, as UTF-8 encoding (and so every other peer) would
 * see it: the author's own document must hold the same text as everyone else's.
 */
export function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD')
}
