/** What the web app says for each refusal code (src/ui/lib/refusal.ts). */
import { describe, expect, it } from 'vitest'
import { REFUSAL_CODES, refusalCodeOf, type RefusalCode } from '../../src/core/org-refusal.ts'
import { refusalText } from '../../src/ui/lib/refusal.ts'

describe('refusal texts', () => {
  it('[REFT1] every code has its own title and an explanation; unknown wire codes read as unspecified', () => {
    const codes = Object.keys(REFUSAL_CODES) as RefusalCode[]
    const titles = codes.map((c) => refusalText(c, 'Acme').title)
    expect(new Set(titles).size).toBe(codes.length)
    for (const c of codes) expect(refusalText(c, 'Acme').body.length).toBeGreaterThan(20)
    expect(refusalText('invite-used', 'Acme').body).toContain('Ask your admin for a new one.')
    expect(refusalText('revoked', 'Acme').title).toBe('You were removed from Acme')
    expect(refusalCodeOf(REFUSAL_CODES['invite-used'])).toBe('invite-used')
    expect(refusalCodeOf(200)).toBe('unspecified')
  })
})
