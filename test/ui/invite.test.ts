import { describe, expect, it } from 'vitest'
import decodeQR from 'qr/decode.js'
import { inviteFromHash, inviteLink, qrPath } from '../../src/ui/lib/invite.ts'

/** Paints the path's rectangles (`Mx yhNv1h-Nz`) into an RGBA image, `scale` pixels a module. */
function raster(
  size: number,
  d: string,
  scale = 4,
): { width: number; height: number; data: Uint8Array } {
  const w = size * scale
  const data = new Uint8Array(w * w * 4).fill(255)
  for (const m of d.matchAll(/M(\d+) (\d+)h(\d+)v1h-\d+z/g)) {
    const [x, y, n] = [Number(m[1]), Number(m[2]), Number(m[3])]
    for (let py = y * scale; py < (y + 1) * scale; py++)
      for (let px = x * scale; px < (x + n) * scale; px++)
        data.fill(0, (py * w + px) * 4, (py * w + px) * 4 + 3)
  }
  return { width: w, height: w, data }
}

describe('invitation links and QR codes', () => {
  it('[INV1] a link carries the code in the fragment and reads back', () => {
    const link = inviteLink('https://office.example:4040/', 'AbC-_12')
    expect(link).toBe('https://office.example:4040/#invite=AbC-_12')
    expect(inviteFromHash(new URL(link).hash)).toBe('AbC-_12')
    expect(inviteFromHash('')).toBeUndefined()
    expect(inviteFromHash('#invite=')).toBeUndefined()
    expect(inviteFromHash('#room=general')).toBeUndefined()
  })

  it('[INV2] the QR path decodes back to the link, for a long invite link too', () => {
    for (const text of [
      inviteLink('http://127.0.0.1:4040', 'x'.repeat(40)),
      inviteLink('https://parley.office.example:4040', 'A1b2_-'.repeat(120)),
    ]) {
      const { size, d } = qrPath(text)
      expect(size).toBeGreaterThan(21)
      expect(decodeQR(raster(size, d))).toBe(text)
    }
  })
})
