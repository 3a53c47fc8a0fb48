/**
 * Who is in the organisation, as a pure function of its signed records ({@link resolveOrg}): every
 * peer that holds the same records reaches the same verdict, whatever order it learnt them in.
 *
 * Records are replayed in time order (a certificate at its `notBefore`, an invitation at `issued`,
 * a revocation or role change at `at`; ties: invitations, certificates, role changes, revocations,
 * then by bytes — so an issuer issues strictly after its own `notBefore`), each checked against the state
 * at that moment:
 * - a certificate is valid if its issuer is the root or an admin then, or if its issuer is the key
 *   of a valid invitation that nobody redeemed before it (single use: earliest redemption wins),
 *   with `issued ≤ notBefore ≤ expires`, the invitation's role, and a user ID nobody holds yet;
 * - a certificate is also valid if its issuer is the key of a valid device link nobody redeemed
 *   before it, with `issued ≤ notBefore ≤ expires`, the link's user ID and no higher role than the
 *   user holds then: the user's next device (it joins the user's keys; revoking the user cuts off
 *   every device);
 * - a device link is valid if its issuer is a device of that very user, valid then;
 * - an invitation, revocation or role change is valid if its issuer is the root or an admin then;
 * - a revocation or demotion that would leave the org without an admin is refused (last-admin rule).
 * - a revocation's cut (src/crdt/org-cut.ts) counts with the revocation that names it; the cuts
 *   of the revocations that count are in {@link OrgView.cuts}.
 * Signatures are checked before records get here (`verifyRecordSig`); records of another org are
 * refused. Refused records are listed with a reason, for the log.
 */
import { compareBytes, equalBytes } from './entry.ts'
import { hexOf } from './org-hex.ts'
import { resolveCuts, type CutView, type RevocationCut } from './org-cut.ts'
import type {
  Certificate,
  DeviceLink,
  Invitation,
  OrgRecord,
  Revocation,
  Role,
  RoleChange,
  RootStatement,
} from './org-records.ts'

/** Why a record is not part of the org. */
export type OrgRejectReason =
  | 'org' // for another org
  | 'issuer' // issuer is neither the root, an admin at that time, nor a known invitation key
  | 'expired' // redemption after the invitation expired (or before it was issued)
  | 'replayed' // the invitation was already redeemed by an earlier certificate
  | 'role' // redemption with another role than invited; promotion of a peer
  | 'user-id-taken' // a redemption claiming a user ID somebody already holds
  | 'unknown-user' // revocation or role change of a user that does not exist at that time
  | 'revoked' // a certificate for a user revoked before it
  | 'last-admin' // would leave the org without an admin
  | 'wrong-user' // a device link redeemed for another user ID than its own

export interface OrgMember {
  userId: string
  name: string
  role: Role
  /** The user's role from each time on (ms, ascending): the first certificate's, then role changes. */
  roles: { at: number; role: Role }[]
  /** Device keys (hex) with their certificates. */
  keys: Map<string, Certificate>
  /** When the user was revoked (ms), if they were. */
  revokedAt: number | undefined
}

export interface OrgView {
  root: RootStatement
  members: Map<string, OrgMember>
  /** Device key hex → user ID. */
  byKey: Map<string, string>
  /** Invitation key hex → the invitation and its redemption, if any. */
  invitations: Map<string, { invitation: Invitation; redeemedBy: Certificate | undefined }>
  /** Device link key hex → the link and the device certificate it made, if any. */
  links: Map<string, { link: DeviceLink; redeemedBy: Certificate | undefined }>
  rejected: { record: OrgRecord; reason: OrgRejectReason }[]
  /** User ID → where its devices stop, for users revoked with a cut (src/crdt/org-cut.ts). */
  cuts: Map<string, CutView>
}

type Timed = Exclude<OrgRecord, RootStatement | RevocationCut>
const KIND_ORDER = { invite: 0, link: 0, cert: 1, role: 2, revoke: 3 } as const
const timeOf = (r: Timed): number =>
  r.kind === 'cert' ? r.notBefore : r.kind === 'invite' || r.kind === 'link' ? r.issued : r.at

/** The org's state from its root statement and any records (see the module comment). */
export function resolveOrg(
  root: RootStatement,
  org: Uint8Array,
  records: Iterable<OrgRecord>,
): OrgView {
  const view: OrgView = {
    root,
    members: new Map(),
    byKey: new Map(),
    invitations: new Map(),
    links: new Map(),
    rejected: [],
    cuts: new Map(),
  }
  const timed: Timed[] = []
  const cuts: RevocationCut[] = []
  for (const r of records) {
    if (r.kind === 'root') continue
    if (!equalBytes(r.org, org)) view.rejected.push({ record: r, reason: 'org' })
    else if (r.kind === 'cut') cuts.push(r)
    else timed.push(r)
  }
  timed.sort(
    (a, b) =>
      timeOf(a) - timeOf(b) ||
      KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
      compareBytes(a.bytes, b.bytes),
  )
  const seen = new Set<string>()
  const counted: Revocation[] = []
  for (const r of timed) {
    const id = hexOf(r.sig)
    if (seen.has(id)) continue
    seen.add(id)
    const reason = apply(view, r)
    if (reason !== undefined) view.rejected.push({ record: r, reason })
    else if (r.kind === 'revoke') counted.push(r)
  }
  view.cuts = resolveCuts(counted, cuts)
  return view
}

const admins = (v: OrgView): number =>
  [...v.members.values()].filter((m) => m.role === 'admin' && m.revokedAt === undefined).length

/** Whether `key` may act as an admin at time `t` in the state replayed so far. */
export function isAdminAt(v: OrgView, key: Uint8Array, t: number): boolean {
  if (equalBytes(key, v.root.rootKey)) return true
  const m = memberAt(v, key, t)
  return m?.role === 'admin'
}

/**
 * The role of the user `key` belongs to at `t`, if its certificate is valid then and the user not
 * revoked (a role change at `t` counts from `t` on). Unlike {@link isAdminAt} during the replay, this
 * asks the final view about any moment: a removal by an admin demoted later still counted then.
 */
export function roleAt(v: OrgView, key: Uint8Array, t: number): Role | undefined {
  const m = memberAt(v, key, t)
  if (m === undefined) return undefined
  let role: Role | undefined
  for (const r of m.roles) if (r.at <= t) role = r.role
  return role
}

/** The member `key` belongs to if its certificate is valid at `t` and the user is not revoked then. */
export function memberAt(v: OrgView, key: Uint8Array, t: number): OrgMember | undefined {
  const hex = hexOf(key)
  const userId = v.byKey.get(hex)
  const m = userId === undefined ? undefined : v.members.get(userId)
  const cert = m?.keys.get(hex)
  if (m === undefined || cert === undefined) return undefined
  if (cert.notAfter !== 0 && t >= cert.notAfter) return undefined
  if (m.revokedAt !== undefined && t >= m.revokedAt) return undefined
  return m
}

function apply(v: OrgView, r: Timed): OrgRejectReason | undefined {
  switch (r.kind) {
    case 'invite':
      if (!isAdminAt(v, r.issuer, r.issued)) return 'issuer'
      v.invitations.set(hexOf(r.inviteKey), { invitation: r, redeemedBy: undefined })
      return undefined
    case 'link':
      if (memberAt(v, r.issuer, r.issued)?.userId !== r.userId) return 'issuer'
      v.links.set(hexOf(r.linkKey), { link: r, redeemedBy: undefined })
      return undefined
    case 'cert':
      return applyCert(v, r)
    case 'role':
      return applyRole(v, r)
    case 'revoke':
      return applyRevoke(v, r)
  }
}

/** A device link's redemption: the user's next device, no higher than the user's role then. */
function linkedDevice(
  v: OrgView,
  c: Certificate,
  l: { link: DeviceLink; redeemedBy: Certificate | undefined },
): OrgRejectReason | undefined {
  if (c.notBefore > l.link.expires || c.notBefore < l.link.issued) return 'expired'
  if (l.redeemedBy !== undefined) return 'replayed'
  if (c.userId !== l.link.userId) return 'wrong-user'
  const m = memberAt(v, l.link.issuer, c.notBefore)
  if (m?.userId !== c.userId) return 'revoked'
  if (c.role !== m.role && !(m.role === 'admin' && c.role === 'member')) return 'role'
  l.redeemedBy = c
  return undefined
}

function applyCert(v: OrgView, c: Certificate): OrgRejectReason | undefined {
  const inv = v.invitations.get(hexOf(c.issuer))
  const link = v.links.get(hexOf(c.issuer))
  const existing = v.members.get(c.userId)
  if (link !== undefined) {
    const why = linkedDevice(v, c, link)
    if (why !== undefined) return why
  } else if (inv !== undefined) {
    const i = inv.invitation
    if (c.notBefore > i.expires || c.notBefore < i.issued) return 'expired'
    if (inv.redeemedBy !== undefined) return 'replayed'
    if (c.role !== i.role) return 'role'
    if (existing !== undefined) return 'user-id-taken'
    inv.redeemedBy = c
  } else if (!isAdminAt(v, c.issuer, c.notBefore)) {
    return 'issuer'
  } else if (existing?.revokedAt !== undefined) {
    return 'revoked'
  }
  const hex = hexOf(c.key)
  const owner = v.byKey.get(hex)
  if (owner !== undefined && owner !== c.userId) return 'user-id-taken'
  const m: OrgMember = existing ?? {
    userId: c.userId,
    name: c.name,
    role: c.role,
    roles: [{ at: c.notBefore, role: c.role }],
    keys: new Map(),
    revokedAt: undefined,
  }
  m.keys.set(hex, c)
  v.members.set(c.userId, m)
  v.byKey.set(hex, c.userId)
  return undefined
}

function applyRole(v: OrgView, r: RoleChange): OrgRejectReason | undefined {
  if (!isAdminAt(v, r.issuer, r.at)) return 'issuer'
  const m = v.members.get(r.userId)
  if (m === undefined || m.revokedAt !== undefined) return 'unknown-user'
  if (m.role === 'peer') return 'role'
  if (m.role === 'admin' && r.role !== 'admin' && admins(v) <= 1) return 'last-admin'
  m.role = r.role
  m.roles.push({ at: r.at, role: r.role })
  return undefined
}

function applyRevoke(v: OrgView, r: Revocation): OrgRejectReason | undefined {
  if (!isAdminAt(v, r.issuer, r.at)) return 'issuer'
  const m = v.members.get(r.userId)
  if (m === undefined) return 'unknown-user'
  if (m.revokedAt !== undefined) return undefined
  if (m.role === 'admin' && admins(v) <= 1) return 'last-admin'
  m.revokedAt = r.at
  return undefined
}
