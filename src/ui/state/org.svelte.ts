/**
 * The organisation as the signed-in app shows it: its name, our role, whether we were removed, the
 * members of the signed org directory with their presence, and the admin's actions (invitations,
 * promote, demote, revoke). Snapshots from the core client in `$state.raw`; failures are state.
 */
import type { PresenceStatus, Unsubscribe } from '../../core/index.ts'
import type { MemberInfo, OrgClient, OrgSummary } from '../../core/org-client.ts'

/** The part of the core's `OrgClient` this state needs. */
export type OrgFacade = Pick<
  OrgClient,
  | 'org'
  | 'members'
  | 'people'
  | 'createInvite'
  | 'createDeviceLink'
  | 'revoke'
  | 'setRole'
  | 'onChange'
>

export interface MemberRow extends MemberInfo {
  status: PresenceStatus
  self: boolean
  /** Why this member cannot be revoked or demoted (the last admin), if so. */
  locked: string | undefined
}

export interface CreatedInvite {
  link: string
  code: string
  role: 'member' | 'admin'
  expires: number
}

/** A device link code shown on this device, for another device of our own user. */
export interface CreatedDeviceLink {
  /** The web app's address with the code (opens the "I have a link code" form). */
  link: string
  code: string
  expires: number
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err))
const rank: Record<PresenceStatus, number> = { online: 0, away: 1, offline: 2 }

/** Choices for an invitation's lifetime. */
export const EXPIRY_CHOICES = [
  { label: '1 hour', ms: 3_600_000 },
  { label: '1 day', ms: 86_400_000 },
  { label: '7 days', ms: 7 * 86_400_000 },
  { label: '30 days', ms: 30 * 86_400_000 },
] as const

export class OrgState {
  org = $state.raw<OrgSummary | undefined>(undefined)
  members = $state.raw<readonly MemberRow[]>([])
  invite = $state.raw<CreatedInvite | undefined>(undefined)
  deviceLink = $state.raw<CreatedDeviceLink | undefined>(undefined)
  error = $state.raw<string | undefined>(undefined)
  busy = $state.raw(false)
  readonly #client: OrgFacade
  readonly #me: string
  readonly #link: (code: string) => string
  readonly #deviceLink: (code: string) => string
  readonly #off: Unsubscribe[] = []

  /**
   * @param me our author id; @param link makes the invitation link of a code (the page's origin);
   * @param deviceLink the same for a device link code.
   */
  constructor(
    client: OrgFacade,
    me: string,
    link: (code: string) => string,
    deviceLink: (code: string) => string = (code) => code,
  ) {
    this.#client = client
    this.#me = me
    this.#link = link
    this.#deviceLink = deviceLink
    const sync = (): void => this.#sync()
    sync()
    this.#off.push(client.onChange(sync))
  }

  get isAdmin(): boolean {
    return this.org?.role === 'admin' && !this.org.removed
  }

  async createInvite(role: 'member' | 'admin', expiresInMs: number): Promise<void> {
    await this.#run(async () => {
      const { code, expires } = await this.#client.createInvite({ role, expiresInMs })
      this.invite = { link: this.#link(code), code, role, expires }
    })
  }

  /** Makes a one-time code for another device of ours (shown until used or expired). */
  async createDeviceLink(): Promise<void> {
    await this.#run(async () => {
      const { code, expires } = await this.#client.createDeviceLink()
      this.deviceLink = { link: this.#deviceLink(code), code, expires }
    })
  }

  clearDeviceLink(): void {
    this.deviceLink = undefined
  }

  clearInvite(): void {
    this.invite = undefined
  }

  revoke(userId: string): Promise<void> {
    return this.#run(() => this.#client.revoke(userId))
  }

  setRole(userId: string, role: 'admin' | 'member'): Promise<void> {
    return this.#run(() => this.#client.setRole(userId, role))
  }

  clearError(): void {
    this.error = undefined
  }

  destroy(): void {
    for (const off of this.#off.splice(0)) off()
  }

  #sync(): void {
    this.org = this.#client.org()
    const presence: Record<string, PresenceStatus> = Object.fromEntries(
      this.#client.people().map((p) => [p.author, p.status]),
    )
    const me = this.#me
    const all = this.#client.members().filter((m) => m.role !== 'peer')
    const admins = all.filter((m) => m.role === 'admin' && !m.revoked).length
    this.members = all
      .map((m): MemberRow => {
        const self = m.keys.includes(me)
        const statuses = m.keys.map((k) => presence[k] ?? 'offline')
        const status = self
          ? 'online'
          : (statuses.sort((a, b) => rank[a] - rank[b])[0] ?? 'offline')
        const last = m.role === 'admin' && !m.revoked && admins <= 1
        return {
          ...m,
          status: m.revoked ? 'offline' : status,
          self,
          locked: last ? 'The last admin cannot be removed or demoted.' : undefined,
        }
      })
      .sort(
        (a, b) =>
          Number(a.revoked) - Number(b.revoked) ||
          rank[a.status] - rank[b.status] ||
          a.name.localeCompare(b.name),
      )
  }

  async #run(fn: () => Promise<unknown>): Promise<void> {
    this.busy = true
    this.error = undefined
    try {
      await fn()
    } catch (err) {
      this.error = message(err)
    } finally {
      this.busy = false
      this.#sync()
    }
  }
}
