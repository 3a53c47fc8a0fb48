/**
 * Making an org and joining one: the root statement a fresh Node peer signs, and the redemption of
 * an invite code (the invitee signs its own binding of user ID, name and device key with the
 * invitation's key: no admin needs to be online).
 */
import type { DeviceSigner, HistoryCrypto } from '../crdt/crypto.ts'
import { createNobleSigner } from '../crdt/crypto.ts'
import { decodeInviteCode, verifyInviteCode } from '../crdt/org-code.ts'
import {
  signRecord,
  type Certificate,
  type Invitation,
  type RootStatement,
} from '../crdt/org-records.ts'
import { InvalidInviteCodeError } from '../crdt/errors.ts'

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
