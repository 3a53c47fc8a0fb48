/**
 * An account becoming a member of an org, and opening the org an account belongs to, on any
 * peer that keeps its history in a {@link HistoryStore} (the browser's IndexedDB store; a second
 * device of the same user does the same with its own store):
 *
 * - {@link checkInvite}: before anyone types a password, says whether a code can get them in —
 *   malformed, forged, expired, for another org than the serving peer's, already used, or the
 *   user ID taken (the last two as far as the serving peer knows) — as an {@link InviteRefusedError}
 *   with a message for a person;
 * - {@link redeemInto}: redeems the code for the account's device key and stores the membership
 *   (root statement, network key, invitation and certificate) in the store's settings;
 * - {@link openMemberOrg}: the {@link Org} of a store that holds a membership.
 */
import type { DeviceSigner, HistoryCrypto } from '../crdt/crypto.ts'
import { decodeInviteCode, verifyInviteCode, type InviteCode } from '../crdt/org-code.ts'
import { createNobleSigner, nobleCrypto } from '../crdt/crypto.ts'
import { orgIdOf, type Role } from '../crdt/org-records.ts'
import { toBase64Url } from '../crdt/base64url.ts'
import { Org } from './org.ts'
import { redeemInvite } from './org-join.ts'
import { loadOrgSettings, saveOrgSettings } from './org-settings.ts'
import type { HistoryStore } from './store.ts'

export type InviteRefusal = 'invalid' | 'expired' | 'used' | 'other-org' | 'user-taken'

/** An invitation that cannot get this person in; the message says why and what to do. */
export class InviteRefusedError extends Error {
  static override readonly name = 'InviteRefusedError'
  readonly reason: InviteRefusal
  constructor(reason: InviteRefusal, message: string) {
    super(message)
    this.name = 'InviteRefusedError'
    this.reason = reason
  }
}

/** What the serving peer says about an invitation (`/api/invite`). */
export interface InviteStatus {
  status: 'open' | 'used' | 'expired' | 'unknown'
  userTaken?: boolean
}

/** What a valid code offers. */
export interface InviteSummary {
  orgName: string
  orgId: string
  role: Role
  expires: number
  /** The invitation key, base64url (what `/api/invite` is asked about). */
  key: string
}

export interface CheckInviteOptions {
  /** The org of the peer that served the page, if it has one. */
  serving?: { name: string; orgId: string } | undefined
  /** Asks the serving peer about the invitation (and `userId`); failures are ignored. */
  status?: (key: string, userId: string | undefined) => Promise<InviteStatus>
  userId?: string
  now?: number
}

const when = (t: number): string => new Date(t).toLocaleString()

async function decoded(crypto: HistoryCrypto, code: string): Promise<InviteCode> {
  try {
    const c = decodeInviteCode(code)
    await verifyInviteCode(crypto, c, createNobleSigner(c.inviteSecret))
    return c
  } catch (err) {
    if ((err as Error).name !== 'InvalidInviteCodeError') throw err
    throw new InviteRefusedError(
      'invalid',
      'This is not a valid invitation code (copy the whole link or code, or ask for a new one).',
    )
  }
}

/**
 * Throws {@link InviteRefusedError} unless `code` can get a new member in now; else what it
 * offers. Whether the invitation was already used is the serving peer's answer (every peer
 * enforces single use in the end: a second redemption makes a certificate nobody accepts).
 */
export async function checkInvite(
  crypto: HistoryCrypto,
  code: string,
  opts: CheckInviteOptions = {},
): Promise<InviteSummary> {
  const c = await decoded(crypto, code)
  const i = c.invitation
  const summary: InviteSummary = {
    orgName: c.root.name,
    orgId: orgIdOf(crypto, c.root.rootKey),
    role: i.role,
    expires: i.expires,
    key: toBase64Url(i.inviteKey),
  }
  const expired = (): InviteRefusedError =>
    new InviteRefusedError(
      'expired',
      `This invitation expired on ${when(i.expires)}. Ask an admin for a new one.`,
    )
  if ((opts.now ?? Date.now()) > i.expires) throw expired()
  if (opts.serving !== undefined && opts.serving.orgId !== summary.orgId)
    throw new InviteRefusedError(
      'other-org',
      `This invitation is for “${summary.orgName}”, but this server runs “${opts.serving.name}”. ` +
        'Open the link you were sent, or ask for an invitation to this organisation.',
    )
  if (opts.status === undefined) return summary
  let s: InviteStatus
  try {
    s = await opts.status(summary.key, opts.userId)
  } catch {
    return summary // the serving peer cannot tell: every peer checks again
  }
  if (s.status === 'used')
    throw new InviteRefusedError(
      'used',
      'This invitation was already used: each one lets one person in. Ask an admin for a new one.',
    )
  if (s.status === 'expired') throw expired()
  if (s.userTaken === true && opts.userId !== undefined)
    throw new InviteRefusedError(
      'user-taken',
      `The user ID “${opts.userId}” is already taken in ${summary.orgName}. Choose another.`,
    )
  return summary
}

/**
 * Redeems `code` for the device `who.signer` and stores the membership in `store`. Throws
 * {@link InviteRefusedError} for a code that is invalid or expired, and when the store already
 * belongs to an org.
 */
export async function redeemInto(
  store: HistoryStore,
  crypto: HistoryCrypto,
  code: string,
  who: { userId: string; name: string; signer: DeviceSigner },
  now = Date.now(),
): Promise<void> {
  const have = await loadOrgSettings(store)
  if (have !== undefined)
    throw new InviteRefusedError(
      'invalid',
      `This account already belongs to the organisation “${have.root.name}”.`,
    )
  await checkInvite(crypto, code, { now })
  const r = await redeemInvite(crypto, code, { ...who, name: who.name.slice(0, 64) }, now)
  await saveOrgSettings(store, {
    root: r.root,
    networkKey: r.networkKey,
    records: [r.invitation, r.cert],
    addrs: r.addrs,
  })
}

/** The org `store` belongs to (undefined: none), with `signer` as this device. */
export async function openMemberOrg(
  store: HistoryStore,
  crypto: HistoryCrypto,
  signer: DeviceSigner,
): Promise<Org | undefined> {
  const s = await loadOrgSettings(store)
  if (s === undefined) return undefined
  return Org.open({ crypto, root: s.root, networkKey: s.networkKey, signer }, s.records)
}

/** Asks the page's serving peer (`/api/invite`) about an invitation key and a user ID. */
export async function fetchInviteStatus(
  key: string,
  userId: string | undefined,
): Promise<InviteStatus> {
  const q = new URLSearchParams({ key, ...(userId === undefined ? {} : { user: userId }) })
  const res = await fetch(`/api/invite?${q.toString()}`, {
    cache: 'no-store',
    signal: AbortSignal.timeout(4_000),
  })
  if (!res.ok) throw new Error(`/api/invite answered ${res.status}`)
  const body = (await res.json()) as Partial<InviteStatus>
  const known = ['open', 'used', 'expired', 'unknown'] as const
  const status = known.find((k) => k === body.status) ?? 'unknown'
  return { status, ...(body.userTaken === true ? { userTaken: true } : {}) }
}

/** {@link checkInvite} against the peer that served the page (the web app's sign-up form). */
export function checkPageInvite(
  code: string,
  serving: { name: string; orgId: string } | undefined,
  userId?: string,
): Promise<InviteSummary> {
  return checkInvite(nobleCrypto, code, {
    serving,
    status: fetchInviteStatus,
    ...(userId === undefined ? {} : { userId }),
  })
}
