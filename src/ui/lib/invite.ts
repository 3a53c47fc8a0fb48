/**
 * Invitation links and their QR codes. A link is the web app's own address with the code in the
 * fragment (`https://host:port/#invite=CODE`): the fragment never reaches the server or its logs,
 * and opening the link opens the sign-up form with the code filled in. A device link code (another
 * device of a signed-in user) travels the same way, as `#link=CODE`. Pure.
 */
import { encodeQR } from 'qr'

const PREFIX = '#invite='
const LINK_PREFIX = '#link='

/** The link that opens the web app at `origin` with `code` ready to redeem. */
export function inviteLink(origin: string, code: string): string {
  return `${origin.replace(/\/+$/, '')}/${PREFIX}${code}`
}

/** The code in a page's `location.hash` (`#invite=CODE`), if there is one. */
export function inviteFromHash(hash: string): string | undefined {
  if (!hash.startsWith(PREFIX)) return undefined
  const code = hash.slice(PREFIX.length).trim()
  return code === '' ? undefined : code
}

/** A QR code as one SVG path: `size` modules square (quiet zone included), dark modules in `d`. */
export interface QrPath {
  size: number
  d: string
}

/**
 * The QR code of `text` (byte mode, error correction `medium`, the 4-module quiet zone ISO/IEC
 * 18004 asks for) as an SVG path: one rectangle per run of dark modules in a row, so the markup
 * stays small and needs no `{@html}`.
 */
export function qrPath(text: string): QrPath {
  const rows = encodeQR(text, 'raw', { ecc: 'medium', border: 4 })
  const parts: string[] = []
  rows.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) {
      if (row[x] !== true) continue
      let end = x
      while (row[end + 1] === true) end++
      parts.push(`M${x} ${y}h${end - x + 1}v1h${x - end - 1}z`)
      x = end
    }
  })
  return { size: rows.length, d: parts.join('') }
}

/** The link that opens the web app at `origin` on the "I have a link code" form with `code`. */
export function deviceLinkUrl(origin: string, code: string): string {
  return `${origin.replace(/\/+$/, '')}/${LINK_PREFIX}${code}`
}

/** The device link code in a page's `location.hash` (`#link=CODE`), if there is one. */
export function deviceLinkFromHash(hash: string): string | undefined {
  if (!hash.startsWith(LINK_PREFIX)) return undefined
  const code = hash.slice(LINK_PREFIX.length).trim()
  return code === '' ? undefined : code
}
