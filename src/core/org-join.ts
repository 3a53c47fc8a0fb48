/**
 * Making an org and joining one: the root statement a fresh Node peer signs, and the redemption of
 * an invite code (the invitee signs its own binding of user ID, name and device key with the
 * invitation's key: no admin needs to be online).
 */
import type { DeviceSigner, HistoryCrypto } from '../crdt/crypto.ts'
import { createNobleSigner } from '../crdt/crypto.ts'
import {
  decodeInviteCode,
  decodeLinkCode,
  verifyInviteCode,
  verifyLinkCode,
} from '../crdt/org-code.ts'
import {
  orgIdBytes,
  signRecord,
  type Certificate,
  type DeviceLink,
  type Invitation,
  type OrgRecord,
  type RootStatement,
} from '../crdt/org-records.ts'
import { resolveOrg } from '../crdt/org-state.ts'
import { InvalidInviteCodeError } from '../crdt/errors.ts'
import { hexOf } from '../crdt/org-hex.ts'

/** The root statement of a new org named `name`, signed by its root key. */
export function createRootStatement(
  rootSigner: DeviceSigner,
  name: string,
  now = Date.now(),
): Promise<RootStatement> {
  return signRecord<RootStatement>(rootSigner, {
    kind: 'root',
    rootKey: rootSigner.publicKey,
    name,
    created: now,
  })
}

/** What an invitee keeps after redeeming a code. */
export interface Redeemed {
  root: RootStatement
  networkKey: Uint8Array
  invitation: Invitation
  cert: Certificate
  addrs: string[]
}

/**
 * Redeems `code` for the device `signer` as `userId` / `name`. Throws `InvalidInviteCodeError` for
 * a malformed, forged or expired code (single use is enforced by every peer: a code redeemed before
 * makes a certificate nobody accepts).
 */
export async function redeemInvite(
  crypto: HistoryCrypto,
  code: string,
  who: { userId: string; name: string; signer: DeviceSigner },
  now = Date.now(),
): Promise<Redeemed> {
  const c = decodeInviteCode(code)
  const inviteSigner = createNobleSigner(c.inviteSecret)
  await verifyInviteCode(crypto, c, inviteSigner)
  const i = c.invitation
  if (now > i.expires) throw new InvalidInviteCodeError('Invalid invite code: expired')
  const cert = await signRecord<Certificate>(inviteSigner, {
    kind: 'cert',
    org: i.org,
    userId: who.userId,
    name: who.name,
    key: who.signer.publicKey,
    role: i.role,
    notBefore: Math.min(Math.max(now, i.issued + 1), i.expires),
    notAfter: 0,
    issuer: i.inviteKey,
  })
  return { root: c.root, networkKey: c.networkKey, invitation: i, cert, addrs: c.addrs }
}

/** What a newly linked device keeps: its certificate, the link and the issuing device's chain. */
export interface Linked {
  root: RootStatement
  networkKey: Uint8Array
  link: DeviceLink
  cert: Certificate
  /** The records to start with (chain, link, certificate). */
  records: OrgRecord[]
  addrs: string[]
  userId: string
  name: string
}

/**
 * Redeems a device link `code` for this new device (`signer`, a key pair of its own): a certificate
 * for the link's user ID with the user's name and role as the issuing device's chain shows them,
 * signed with the link's key. Throws `InvalidInviteCodeError` for a malformed, forged or expired
 * code, or one whose chain does not show its user (single use is enforced by every peer).
 */
export async function redeemLink(
  crypto: HistoryCrypto,
  code: string,
  signer: DeviceSigner,
  now = Date.now(),
): Promise<Linked> {
  const c = decodeLinkCode(code)
  const linkSigner = createNobleSigner(c.linkSecret)
  await verifyLinkCode(crypto, c, linkSigner)
  const l = c.link
  if (now > l.expires) throw new InvalidInviteCodeError('Invalid device link code: expired')
  const view = resolveOrg(c.root, orgIdBytes(crypto, c.root.rootKey), [...c.chain, l])
  const user = view.members.get(l.userId)
  if (user === undefined || !view.links.has(hexOf(l.linkKey)))
    throw new InvalidInviteCodeError('Invalid device link code: its user is not in the code')
  const cert = await signRecord<Certificate>(linkSigner, {
    kind: 'cert',
    org: l.org,
    userId: l.userId,
    name: user.name,
    key: signer.publicKey,
    role: user.role,
    notBefore: Math.min(Math.max(now, l.issued + 1), l.expires),
    notAfter: 0,
    issuer: l.linkKey,
  })
  return {
    root: c.root,
    networkKey: c.networkKey,
    link: l,
    cert,
    records: [...c.chain, l, cert],
    addrs: c.addrs,
    userId: l.userId,
    name: user.name,
  }
}
