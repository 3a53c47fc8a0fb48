/**
 * What the app says when the organisation's peers refuse this device admission (the code comes
 * from the refusing peer: src/core/org-refusal.ts). The words are ours, chosen by the code alone:
 * the peer's own text is shown only as a detail. Pure.
 */
import type { RefusalCode } from '../../core/org-client.ts'

export interface RefusalText {
  title: string
  body: string
}

/** The title and explanation for a refusal of code `code` by the peers of `orgName`. */
export function refusalText(code: RefusalCode, orgName: string): RefusalText {
  switch (code) {
    case 'invite-used':
      return {
        title: 'This invitation was already used',
        body: 'Someone else redeemed this invitation first, so this account was not admitted. Ask your admin for a new one.',
      }
    case 'invite-expired':
      return {
        title: 'This invitation had expired',
        body: 'The invitation was used after it expired, so this account was not admitted. Ask your admin for a new one.',
      }
    case 'revoked':
      return {
        title: `You were removed from ${orgName}`,
        body: "An administrator revoked your membership: the organisation's peers no longer let this browser in. Your history stays readable here. If this is a mistake, ask an administrator for a new invitation.",
      }
    case 'cert-expired':
      return {
        title: 'Your membership has expired',
        body: `Your certificate for ${orgName} is no longer valid, so its peers no longer let this browser in. Ask your admin for a new invitation.`,
      }
    case 'not-member':
      return {
        title: `Not a member of ${orgName}`,
        body: "The organisation's peers do not know this account as a member. Ask your admin for an invitation.",
      }
    case 'bad-proof':
      return {
        title: 'This device could not prove its membership',
        body: "The organisation's peer could not check this browser's proof of membership. Reload the page; if it happens again, ask your admin.",
      }
    case 'unspecified':
      return {
        title: 'Not admitted',
        body: "The organisation's peer refused this browser without saying why. Reload the page; if it happens again, ask your admin.",
      }
  }
}
