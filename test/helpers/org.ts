/**
 * Builds organisations for tests: a root key, admins, invitations and redemptions, signed for real.
 */
import {
  createNobleSigner,
  generateDeviceKey,
  nobleCrypto,
  type DeviceSigner,
} from '../../src/crdt/crypto.ts'
import {
  orgIdBytes,
  signRecord,
  type Certificate,
  type DeviceLink,
  type Invitation,
  type Revocation,
  type Role,
  type RoleChange,
  type RootStatement,
} from '../../src/crdt/org-records.ts'

export const T0 = 1_764_000_000_000
export const DAY = 86_400_000

export const newSigner = (): DeviceSigner => createNobleSigner(generateDeviceKey().secretKey)

export interface TestOrg {
  rootSigner: DeviceSigner
  root: RootStatement
  org: Uint8Array
}

export async function makeOrg(name = 'Acme'): Promise<TestOrg> {
  const rootSigner = newSigner()
  const root = await signRecord<RootStatement>(rootSigner, {
    kind: 'root',
    rootKey: rootSigner.publicKey,
    name,
    created: T0,
  })
  return { rootSigner, root, org: orgIdBytes(nobleCrypto, rootSigner.publicKey) }
}

export function certify(
  o: TestOrg,
  issuer: DeviceSigner,
  key: Uint8Array,
  userId: string,
  over: Partial<Pick<Certificate, 'role' | 'notBefore' | 'notAfter' | 'name'>> = {},
): Promise<Certificate> {
  return signRecord<Certificate>(issuer, {
    kind: 'cert',
    org: o.org,
    userId,
    name: over.name ?? userId,
    key,
    role: over.role ?? 'member',
    notBefore: over.notBefore ?? T0,
    notAfter: over.notAfter ?? 0,
    issuer: issuer.publicKey,
  })
}

export async function invite(
  o: TestOrg,
  issuer: DeviceSigner,
  over: Partial<Pick<Invitation, 'role' | 'issued' | 'expires'>> = {},
): Promise<{ invitation: Invitation; inviteSigner: DeviceSigner }> {
  const inviteSigner = newSigner()
  const issued = over.issued ?? T0
  const invitation = await signRecord<Invitation>(issuer, {
    kind: 'invite',
    org: o.org,
    inviteId: crypto.getRandomValues(new Uint8Array(16)),
    role: over.role ?? 'member',
    issued,
    expires: over.expires ?? issued + 7 * DAY,
    inviteKey: inviteSigner.publicKey,
    issuer: issuer.publicKey,
  })
  return { invitation, inviteSigner }
}

export function revoke(
  o: TestOrg,
  issuer: DeviceSigner,
  userId: string,
  at: number,
): Promise<Revocation> {
  return signRecord<Revocation>(issuer, {
    kind: 'revoke',
    org: o.org,
    userId,
    at,
    issuer: issuer.publicKey,
  })
}

export function setRole(
  o: TestOrg,
  issuer: DeviceSigner,
  userId: string,
  role: Role,
  at: number,
): Promise<RoleChange> {
  return signRecord<RoleChange>(issuer, {
    kind: 'role',
    org: o.org,
    userId,
    role,
    at,
    issuer: issuer.publicKey,
  })
}

/** A device link by `issuer` (a device of `userId`, or a forger claiming it). */
export async function deviceLink(
  o: TestOrg,
  issuer: DeviceSigner,
  userId: string,
  over: Partial<Pick<DeviceLink, 'issued' | 'expires'>> = {},
): Promise<{ link: DeviceLink; linkSigner: DeviceSigner }> {
  const linkSigner = newSigner()
  const issued = over.issued ?? T0 + 100
  const link = await signRecord<DeviceLink>(issuer, {
    kind: 'link',
    org: o.org,
    userId,
    issued,
    expires: over.expires ?? issued + 10 * 60_000,
    linkKey: linkSigner.publicKey,
    issuer: issuer.publicKey,
  })
  return { link, linkSigner }
}

/** The certificate a link's key signs for a new device. */
export function redeemDeviceLink(
  o: TestOrg,
  l: { link: DeviceLink; linkSigner: DeviceSigner },
  key: Uint8Array,
  over: Partial<Pick<Certificate, 'userId' | 'role' | 'notBefore' | 'name'>> = {},
): Promise<Certificate> {
  return signRecord<Certificate>(l.linkSigner, {
    kind: 'cert',
    org: o.org,
    userId: over.userId ?? l.link.userId,
    name: over.name ?? l.link.userId,
    key,
    role: over.role ?? 'member',
    notBefore: over.notBefore ?? l.link.issued + 1,
    notAfter: 0,
    issuer: l.linkSigner.publicKey,
  })
}
