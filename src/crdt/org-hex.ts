/** Lowercase hex of bytes: map keys for device keys and signatures in the org state. */
export function hexOf(b: Uint8Array): string {
  let s = ''
  for (const x of b) s += x.toString(16).padStart(2, '0')
  return s
}
