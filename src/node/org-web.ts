/**
 * What the serving peer tells browsers about its organisation, before they are members: the org's
 * name and id in `/api/info`, the first admin's setup invitation (only to a page opened on this
 * very machine, and only while the org has no admin), and whether an invitation can still be
 * used (`/api/invite`), so a newcomer hears "used" or "expired" before typing everything.
 *
 * The setup invitation is an ordinary admin invitation signed by the root key this peer holds:
 * the first admin redeems it like anyone redeems an invitation (single use, enforced by every
 * peer). It is kept in the store's settings so a restart offers the same one, and printed on the
 * console for an operator who opens the app from another machine.
 */
import { decodeInviteCode, type InviteCode } from '../crdt/org-code.ts'
import { hexOf } from '../crdt/org-hex.ts'
import { fromBase64Url } from '../crdt/base64url.ts'
import { equalBytes } from '../crdt/entry.ts'
import type { Org } from '../core/org.ts'
import type { HistoryStore } from '../core/store.ts'

const SETUP_KEY = 'org/setup'
/** How long a setup invitation is offered; a serve started after that makes a new one. */
export const SETUP_EXPIRES_MS = 30 * 86_400_000

/** The org part of `/api/info`. */
export interface OrgPublicInfo {
  name: string
  orgId: string
  /** The first admin's invitation code: loopback pages only, while the org has no admin. */
  setup?: string
}

/** Whether the invitation whose key the code carries is still open (known, unexpired, unused). */
function open(org: Org, c: InviteCode, now: number): boolean {
  const known = org.view().invitations.get(hexOf(c.invitation.inviteKey))
  return known !== undefined && known.redeemedBy === undefined && c.invitation.expires > now
}

/**
 * The org's setup invitation while it has no admin: the stored one if it is still open (and
 * valid for at least another hour), else a new one (stored). Undefined once an admin exists or
 * when this peer does not hold the root key.
 */
export async function setupInvite(
  org: Org,
  store: HistoryStore,
  addrs: string[] = [],
): Promise<string | undefined> {
  if (org.hasAdmin() || org.rootSigner === undefined) return undefined
  const raw = await store.getSetting(SETUP_KEY)
  if (raw !== undefined) {
    const code = new TextDecoder().decode(raw)
    try {
      const c = decodeInviteCode(code)
      if (equalBytes(c.root.bytes, org.root.bytes) && open(org, c, org.now() + 3_600_000))
        return code
    } catch {
      // an unreadable setting: make a new invitation
    }
  }
  const { code } = await org.createInvite({
    role: 'admin',
    expiresInMs: SETUP_EXPIRES_MS,
    addrs,
  })
  await store.putSetting(SETUP_KEY, new TextEncoder().encode(code))
  return code
}

/** `/api/info`'s `org`; `setup` only when `local` and the org still has no admin. */
export function orgPublicInfo(org: Org, setup: string | undefined, local: boolean): OrgPublicInfo {
  const offer = local && setup !== undefined && !org.hasAdmin()
  return { name: org.name, orgId: org.orgId, ...(offer ? { setup } : {}) }
}

export type InviteStatus = 'open' | 'used' | 'expired' | 'unknown'

/**
 * `/api/invite?key=<invitation key, base64url>&user=<user ID>`: whether that invitation can still
 * be redeemed here, and (only for an open invitation, so only its holder learns it) whether the
 * user ID is taken in the org.
 */
export function inviteStatus(
  org: Org,
  query: URLSearchParams,
): { status: InviteStatus; userTaken?: boolean } {
  const key = fromBase64Url(query.get('key') ?? '')
  if (key === undefined || key.length !== 32) return { status: 'unknown' }
  const known = org.view().invitations.get(hexOf(key))
  if (known === undefined) return { status: 'unknown' }
  if (known.redeemedBy !== undefined) return { status: 'used' }
  if (known.invitation.expires <= org.now()) return { status: 'expired' }
  const user = query.get('user')
  return {
    status: 'open',
    ...(user === null ? {} : { userTaken: org.view().members.has(user) }),
  }
}
