/**
 * The web app's view of its {@link Org}: the org's name, our role and whether we were removed,
 * the signed directory of members (the people list: work contacts only, Node peers left out)
 * joined with presence, and an admin's actions. A thin facade: the rules live in `Org` and
 * src/crdt/org-state.ts.
 */
import { createLogger } from '../net/logger.ts'
import type { Unsubscribe } from '../net/index.ts'
import type { Role } from '../crdt/org-records.ts'
import { authorFromId } from '../crdt/entry.ts'
import type { MemberInfo, Org } from './org.ts'
import type { Messenger } from './messenger.ts'
import type { PresenceInfo, PresenceStatus } from './presence.ts'
import type { PersonView } from './people.ts'
import { refusalCodeOf, type RefusalCode } from './org-refusal.ts'

export type { MemberInfo, RefusalCode }

const log = createLogger('parley:core:org')

/**
 * A peer of the org refused this device admission and said why (before disconnecting it): the
 * code and text are that peer's word, to show, never to act on.
 */
export interface AdmissionRefusalNotice {
  code: RefusalCode
  /** The refusing peer's text (bounded, no control characters). */
  reason: string
  /** The refusing peer; undefined when our own copy of the org's signed records says so. */
  peer: string | undefined
}

/** What our own records can settle for good: another's earlier redemption, an expiry, a revocation. */
const SETTLED = new Set<RefusalCode>(['invite-used', 'invite-expired', 'revoked', 'cert-expired'])

export interface OrgSummary {
  name: string
  orgId: string
  /** Our role now; undefined while we hold no valid certificate. */
  role: Role | undefined
  /** An admin revoked us. */
  removed: boolean
  /**
   * Why we are not admitted: what our own copy of the org's records settles (another redeemed our
   * invitation first, …), else the last refusal a peer sent, until a peer admits us.
   */
  refused: AdmissionRefusalNotice | undefined
}

const rank: Record<PresenceStatus, number> = { online: 0, away: 1, offline: 2 }

export class OrgClient {
  readonly #org: Org
  readonly #messenger: Messenger
  /** Our author id (base64url device key). */
  readonly #me: string
  readonly #listeners = new Set<() => void>()
  #refused: AdmissionRefusalNotice | undefined

  constructor(org: Org, messenger: Messenger, me: string) {
    this.#org = org
    this.#messenger = messenger
    this.#me = me
  }

  org(): OrgSummary {
    const mine = this.#org.members().find((m) => m.keys.includes(this.#me))
    const own = this.#org.refusalOf(this.#org.signer.publicKey, this.#org.now())
    const settled =
      own !== undefined && SETTLED.has(own.code)
        ? { code: own.code, reason: own.text, peer: undefined }
        : undefined
    return {
      name: this.#org.name,
      orgId: this.#org.orgId,
      role: this.#org.roleOf(this.#org.signer.publicKey),
      removed: mine?.revoked === true,
      refused: settled ?? this.#refused,
    }
  }

  /**
   * Follows the net's refusals of our admission: the last one is in {@link org} (and `onChange`
   * fires) until a peer admits us. ParleyClient calls it at start; returns the unsubscribe.
   */
  watchAdmission(): Unsubscribe {
    const net = this.#messenger.net
    const notify = (): void => {
      for (const cb of [...this.#listeners]) cb()
    }
    const offRefused = net.onRefused((r) => {
      const code = refusalCodeOf(r.code)
      log.error('%s refused our admission: %s (%s)', r.peer, code, r.reason)
      this.#refused = { code, reason: r.reason, peer: r.peer }
      notify()
    })
    const offPeers = net.onPeers((peers) => {
      if (peers.length === 0 || this.#refused === undefined) return
      this.#refused = undefined
      notify()
    })
    return () => (offRefused(), offPeers())
  }

  members(): MemberInfo[] {
    return this.#org.members()
  }

  /** The certified name of the member whose device `author` is. */
  nameOf(author: string): string | undefined {
    return this.#org.members().find((m) => m.keys.includes(author))?.name
  }

  /** The user ID of the member whose device `author` is (any of its devices). */
  userOf(author: string): string | undefined {
    return this.#org.members().find((m) => m.keys.includes(author))?.userId
  }

  /** Whether the member whose device `author` is is an admin now (and not revoked). */
  isAdmin(author: string): boolean {
    const m = this.#org.members().find((x) => x.keys.includes(author))
    return m !== undefined && !m.revoked && m.role === 'admin'
  }

  /** Every device key (author id) of the member whose device `author` is, valid now. */
  devicesOf(author: string): string[] {
    const m = this.#org.members().find((x) => x.keys.includes(author))
    if (m === undefined || m.revoked) return []
    return m.keys.filter((k) => this.#org.isMember(authorFromId(k)))
  }

  /** Presence of every author heard from. */
  people(): readonly PresenceInfo[] {
    return this.#messenger.people()
  }

  /**
   * The people list: every unrevoked person of the signed directory (no Node peers), each shown by
   * its device with the best presence, online first, then by name.
   */
  directory(lastSeen: Readonly<Record<string, number>>): PersonView[] {
    const live = new Map(this.#messenger.people().map((p) => [p.author, p]))
    const out: PersonView[] = []
    for (const m of this.#org.members()) {
      if (m.revoked || m.role === 'peer' || m.keys.length === 0) continue
      const self = m.keys.includes(this.#me)
      const best = m.keys
        .map((k) => ({ key: k, seen: live.get(k) }))
        .sort((a, b) => rank[a.seen?.status ?? 'offline'] - rank[b.seen?.status ?? 'offline'])[0]
      const key = self ? this.#me : (best?.key ?? m.keys[0]!)
      const seen = live.get(key)
      out.push({
        author: key,
        userId: m.userId,
        name: m.name,
        status: self ? (seen?.status ?? 'online') : (seen?.status ?? 'offline'),
        lastSeen: seen?.lastSeen ?? Math.max(0, ...m.keys.map((k) => lastSeen[k] ?? 0)),
        self,
        conflict: false,
      })
    }
    return out.sort(
      (a, b) =>
        rank[a.status] - rank[b.status] ||
        a.name.localeCompare(b.name) ||
        (a.author < b.author ? -1 : 1),
    )
  }

  /** A single-use invitation code (see `Org.createInvite`). */
  async createInvite(opts: {
    role: 'member' | 'admin'
    expiresInMs: number
    addrs?: string[]
  }): Promise<{ code: string; expires: number }> {
    const { invitation, code } = await this.#org.createInvite(opts)
    return { code, expires: invitation.expires }
  }

  /**
   * A one-time code that links another device to our own user (see `Org.createDeviceLink`):
   * valid for 10 minutes, single use.
   */
  async createDeviceLink(
    opts: { addrs?: string[] } = {},
  ): Promise<{ code: string; expires: number }> {
    const { link, code } = await this.#org.createDeviceLink(opts)
    return { code, expires: link.expires }
  }

  revoke(userId: string): Promise<unknown> {
    return this.#org.revoke(userId)
  }

  setRole(userId: string, role: 'admin' | 'member'): Promise<unknown> {
    return this.#org.setRole(userId, role)
  }

  /** Called when the org's records, anyone's presence or a refusal of our admission change. */
  onChange(cb: () => void): Unsubscribe {
    const offOrg = this.#org.onChange(cb)
    const offPresence = this.#messenger.presence.onChange(() => cb())
    const entry = (): void => cb()
    this.#listeners.add(entry)
    return () => (offOrg(), offPresence(), this.#listeners.delete(entry))
  }
}
