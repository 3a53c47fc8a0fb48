/**
 * Base64url without padding (RFC 4648 §5): author ids, org ids, record texts in `sys.org`, invite
 * and device-link codes. Decoding is strict — only the one canonical text of some bytes decodes —
 * so that every value has exactly one text form.
 */

/** Base64url of `bytes`, without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let bin = ''
  for (const b of bytes) bin += String.fromCharCode(b)
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** The bytes of base64url text; undefined unless `s` is canonical base64url. */
export function fromBase64Url(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return undefined
  let bin: string
  try {
    bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4))
  } catch {
    // not base64 after all: the caller reports a malformed code
    return undefined
  }
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return toBase64Url(out) === s ? out : undefined
}
