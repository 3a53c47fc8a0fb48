/**
 * The records an organisation's admins (or the root key on the Node peer that made it) issue —
 * certificates, invitations, revocations with their cut, role changes — and the device links any
 * member makes for its own next device. Each is signed, added to the org, and returned.
 */
import { createLogger } from '../net/logger.ts'
import type { DeviceSigner } from '../crdt/crypto.ts'
import { createNobleSigner, generateDeviceKey } from '../crdt/crypto.ts'
import { encodeInviteCode, encodeLinkCode } from '../crdt/org-code.ts'
import { hexOf } from '../crdt/org-hex.ts'
import {
  MAX_LINK_MS,
  signRecord,
  type Certificate,
  type DeviceLink,
  type Invitation,
  type OrgRecord,
  type Revocation,
  type Role,
  type RoleChange,
  type RootStatement,
} from '../crdt/org-records.ts'
import { memberAt, type OrgView } from '../crdt/org-state.ts'
import { cutRoomsOf, type CutHead, type RevocationCut } from '../crdt/org-cut.ts'

const log = createLogger('parley:core:org')

/** The caller may not do this (not an admin, last admin, unknown user, …). */
export class OrgPermissionError extends Error {
  static override readonly name = 'OrgPermissionError'
  constructor(message: string) {
    super(message)
    this.name = 'OrgPermissionError'
  }
}

/** The chain heads of device keys in every room a peer holds (src/crdt/org-cut.ts). */
export type HeadsOf = (keys: Uint8Array[]) => Promise<Map<string, CutHead[]>>

/** What issuing needs of an org (src/core/org.ts's `Org`). */
export interface IssuingOrg {
  readonly org: Uint8Array
  readonly root: RootStatement
  readonly networkKey: Uint8Array
  readonly signer: DeviceSigner
  readonly rootSigner: DeviceSigner | undefined
  now(): number
  view(): OrgView
  roleOf(key: Uint8Array): Role | undefined
  chainOf(key: Uint8Array): OrgRecord[]
  add(records: Iterable<OrgRecord>): Promise<OrgRecord[]>
}

/** The key we issue records with: our device key if we are an admin, else the root key. */
function issuerOf(o: IssuingOrg): DeviceSigner {
  if (o.roleOf(o.signer.publicKey) === 'admin') return o.signer
  if (o.rootSigner !== undefined) return o.rootSigner
  throw new OrgPermissionError('only an admin can do this')
}

/** An issue time strictly after the issuer's own certificate's (see the tie rule in org-state.ts). */
function issueTime(o: IssuingOrg, issuer: DeviceSigner): number {
  const view = o.view()
  const userId = view.byKey.get(hexOf(issuer.publicKey))
  const cert = view.members.get(userId ?? '')?.keys.get(hexOf(issuer.publicKey))
  return Math.max(o.now(), (cert?.notBefore ?? 0) + 1)
}

/** The active admins. */
const adminsOf = (view: OrgView) =>
  [...view.members.values()].filter((x) => x.role === 'admin' && x.revokedAt === undefined)

/** A certificate issued directly (first admin, a Node peer, a user's second device). */
export async function issueCertificate(
  o: IssuingOrg,
  fields: Pick<Certificate, 'userId' | 'name' | 'key' | 'role'> & { notAfter?: number },
): Promise<Certificate> {
  const issuer = issuerOf(o)
  const cert = await signRecord<Certificate>(issuer, {
    kind: 'cert',
    org: o.org,
    ...fields,
    notBefore: issueTime(o, issuer),
    notAfter: fields.notAfter ?? 0,
    issuer: issuer.publicKey,
  })
  await o.add([cert])
  return cert
}

/** A single-use invitation; returns it and its code (which carries the invitation's secret). */
export async function createInvite(
  o: IssuingOrg,
  opts: { role?: Role; expiresInMs?: number; addrs?: string[] },
): Promise<{ invitation: Invitation; code: string }> {
  const issuer = issuerOf(o)
  const key = generateDeviceKey()
  const issued = issueTime(o, issuer)
  const invitation = await signRecord<Invitation>(issuer, {
    kind: 'invite',
    org: o.org,
    inviteId: crypto.getRandomValues(new Uint8Array(16)),
    role: opts.role ?? 'member',
    issued,
    expires: issued + (opts.expiresInMs ?? 7 * 86_400_000),
    inviteKey: createNobleSigner(key.secretKey).publicKey,
    issuer: issuer.publicKey,
  })
  await o.add([invitation])
  const code = encodeInviteCode({
    invitation,
    inviteSecret: key.secretKey,
    root: o.root,
    networkKey: o.networkKey,
    addrs: opts.addrs ?? [],
  })
  return { invitation, code }
}

/**
 * A single-use link for another device of our own user (any member may make one; it is signed
 * by this device's key and expires within {@link MAX_LINK_MS}). The code carries our chain.
 */
export async function createDeviceLink(
  o: IssuingOrg,
  opts: { expiresInMs?: number; addrs?: string[] },
): Promise<{ link: DeviceLink; code: string }> {
  const me = memberAt(o.view(), o.signer.publicKey, o.now())
  if (me === undefined || me.role === 'peer')
    throw new OrgPermissionError('only a member with a valid certificate can link a device')
  const key = generateDeviceKey()
  const issued = issueTime(o, o.signer)
  const link = await signRecord<DeviceLink>(o.signer, {
    kind: 'link',
    org: o.org,
    userId: me.userId,
    issued,
    expires: issued + Math.min(opts.expiresInMs ?? MAX_LINK_MS, MAX_LINK_MS),
    linkKey: createNobleSigner(key.secretKey).publicKey,
    issuer: o.signer.publicKey,
  })
  await o.add([link])
  const code = encodeLinkCode({
    link,
    linkSecret: key.secretKey,
    root: o.root,
    networkKey: o.networkKey,
    addrs: opts.addrs ?? [],
    chain: o.chainOf(o.signer.publicKey),
  })
  return { link, code }
}

/**
 * Revokes every device of `userId` from now on. With `heads`, the revocation carries a cut
 * (src/crdt/org-cut.ts): the heads of the user's devices in every room this peer holds, beyond
 * which their entries are refused whatever their clock.
 */
export async function revoke(
  o: IssuingOrg,
  userId: string,
  heads: HeadsOf | undefined,
): Promise<Revocation> {
  const m = o.view().members.get(userId)
  if (m === undefined) throw new OrgPermissionError(`no member ${userId}`)
  if (m.role === 'admin' && adminsOf(o.view()).length <= 1)
    throw new OrgPermissionError('the last admin cannot be removed')
  const issuer = issuerOf(o)
  const at = issueTime(o, issuer)
  const keys = [...m.keys.values()].map((c) => c.key)
  const cut =
    heads === undefined ? undefined : await cutOf(o, issuer, m.userId, at, await heads(keys))
  const rec = await signRecord<Revocation>(issuer, {
    kind: 'revoke',
    org: o.org,
    userId,
    at,
    issuer: issuer.publicKey,
    ...(cut === undefined ? {} : { cut: cut.sig }),
  })
  // the cut first: a peer that holds the revocation without it refuses the user's every entry
  await o.add(cut === undefined ? [rec] : [cut, rec])
  return rec
}

function cutOf(
  o: IssuingOrg,
  issuer: DeviceSigner,
  userId: string,
  at: number,
  heads: Map<string, CutHead[]>,
): Promise<RevocationCut> {
  const { rooms, left } = cutRoomsOf(heads)
  if (left.length > 0)
    log.error(
      'revocation cut of %s leaves out %d rooms (too many): clock rule there',
      userId,
      left.length,
    )
  return signRecord<RevocationCut>(issuer, {
    kind: 'cut',
    org: o.org,
    userId,
    at,
    issuer: issuer.publicKey,
    rooms,
  })
}

/** Promotes or demotes `userId`. */
export async function setRole(
  o: IssuingOrg,
  userId: string,
  role: 'admin' | 'member',
): Promise<RoleChange> {
  const m = o.view().members.get(userId)
  if (m === undefined || m.revokedAt !== undefined)
    throw new OrgPermissionError(`no member ${userId}`)
  if (m.role === 'peer') throw new OrgPermissionError(`${userId} is a Node peer`)
  if (m.role === 'admin' && role !== 'admin' && adminsOf(o.view()).length <= 1)
    throw new OrgPermissionError('the last admin cannot be demoted')
  const issuer = issuerOf(o)
  const rec = await signRecord<RoleChange>(issuer, {
    kind: 'role',
    org: o.org,
    userId,
    role,
    at: issueTime(o, issuer),
    issuer: issuer.publicKey,
  })
  await o.add([rec])
  return rec
}
