/**
 * Why a device is not (or no longer) a member of the org, as a small code for the admission
 * verdict (the refused peer is told before its connection closes: src/net/verdict.ts) and a text
 * for logs. The refused side maps the code it hears back with {@link refusalCodeOf}: a peer's
 * word, so it is only ever shown, never acted on.
 */
import { hexOf } from '../crdt/org-hex.ts'
import { memberAt, type OrgRejectReason, type OrgView } from '../crdt/org-state.ts'

/** Refusal codes on the wire (one byte); 0 is "no reason given". */
export const REFUSAL_CODES = {
  unspecified: 0,
  /** The invitation this device redeemed was redeemed by someone else first. */
  'invite-used': 1,
  /** Redeemed after the invitation expired. */
  'invite-expired': 2,
  /** An admin revoked this member. */
  revoked: 3,
  /** No certificate of this org (another org's proof, an unknown key, a user ID taken, …). */
  'not-member': 4,
  /** The certificate's validity ended. */
  'cert-expired': 5,
  /** The proof itself is broken (bound to another peer id, bad signature, malformed). */
  'bad-proof': 6,
} as const

export type RefusalCode = keyof typeof REFUSAL_CODES

/** A refusal: its code and a text for logs (and the refused peer's log). */
export interface OrgRefusal {
  code: RefusalCode
  text: string
}

const byNumber = new Map<number, RefusalCode>(
  Object.entries(REFUSAL_CODES).map(([k, v]) => [v, k as RefusalCode]),
)

/** The code a wire number stands for (an unknown number: `unspecified`). */
export function refusalCodeOf(n: number): RefusalCode {
  return byNumber.get(n) ?? 'unspecified'
}

const REJECTED: Partial<Record<OrgRejectReason, OrgRefusal>> = {
  replayed: { code: 'invite-used', text: 'invitation already used by someone else' },
  expired: { code: 'invite-expired', text: 'invitation expired before it was redeemed' },
  revoked: { code: 'revoked', text: 'certificate issued after its user was revoked' },
}

/** Why `key` may not act at time `t` in `view` (undefined: it may). */
export function refusalOf(view: OrgView, key: Uint8Array, t: number): OrgRefusal | undefined {
  const hex = hexOf(key)
  const userId = view.byKey.get(hex)
  if (userId === undefined) {
    // a certificate for this key that the org refused says why
    const rejected = view.rejected.find(
      (r) => r.record.kind === 'cert' && hexOf(r.record.key) === hex,
    )
    return (rejected && REJECTED[rejected.reason]) ?? { code: 'not-member', text: 'no certificate' }
  }
  if (memberAt(view, key, t) !== undefined) return undefined
  const m = view.members.get(userId)
  if (m?.revokedAt !== undefined && t >= m.revokedAt)
    return { code: 'revoked', text: `revoked (${userId})` }
  return {
    code: 'cert-expired',
    text: `certificate not valid at ${new Date(t).toISOString()} (${userId})`,
  }
}
