/**
 * Who is signed in, and the phases of getting there: no secure context, signed out, starting the
 * peer, choosing another user ID (ours was taken), ready. Errors are state, shown by the screens.
 */
import type { Accounts, UnlockedAccount } from '../../core/accounts.ts'
import type { BrowserSession } from '../../core/browser.ts'
import type { ServingInfo } from '../../core/browser-page.ts'
import type { Unsubscribe } from '../../core/index.ts'
import type { InviteSummary } from '../../core/org-member.ts'
import type { LinkSummary } from '../../core/org-device.ts'

export type Phase = 'loading' | 'insecure' | 'signed-out' | 'starting' | 'claim' | 'ready'

export interface SessionDeps {
  /** Opens the account store (IndexedDB). */
  accounts: () => Promise<Accounts>
  /**
   * Starts the browser peer for a signed-in account (redeeming `invite` on sign-up; a new linked
   * device with its `link` code).
   */
  start: (account: UnlockedAccount, invite?: string, link?: string) => Promise<BrowserSession>
  /** Whether WebCrypto's `subtle` exists (a secure context). */
  secure: boolean
  /** What the serving peer says about itself and its org (undefined: cannot tell now). */
  serving?: () => Promise<ServingInfo | undefined>
  /** Checks an invitation code (for `userId`); rejects with a message for a person. */
  checkInvite?: (
    code: string,
    org: ServingOrg | undefined,
    userId?: string,
  ) => Promise<InviteSummary>
  /** The invitation code the page was opened with (`#invite=CODE`). */
  linkInvite?: string
  /** Checks a device link code; rejects with a message for a person. */
  checkLink?: (code: string) => Promise<LinkSummary>
  /** The device link code the page was opened with (`#link=CODE`). */
  linkCode?: string
}

export type ServingOrg = NonNullable<ServingInfo['org']>

/** The invitation the sign-up form holds: its code, and what it offers or why it cannot be used. */
export interface InviteState {
  code: string
  /** The serving peer's first-admin invitation (this page was opened on its machine). */
  setup: boolean
  checking: boolean
  summary: InviteSummary | undefined
  error: string | undefined
}

/** The device link code the "I have a link code" form holds, and what it offers or why not. */
export interface LinkState {
  code: string
  checking: boolean
  summary: LinkSummary | undefined
  error: string | undefined
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err))

export class SessionState {
  phase = $state.raw<Phase>('loading')
  error = $state.raw<string | undefined>(undefined)
  /** Accounts on this browser, for the sign-in form. */
  known = $state.raw<readonly { userId: string; name: string }[]>([])
  session = $state.raw<BrowserSession | undefined>(undefined)
  busy = $state.raw(false)
  /** The serving peer's org, once known (undefined: an open peer, or not reached). */
  org = $state.raw<ServingOrg | undefined>(undefined)
  /** The invitation sign-up will redeem. */
  invite = $state.raw<InviteState | undefined>(undefined)
  #checks = 0
  /** The device link code being entered on a new device. */
  link = $state.raw<LinkState | undefined>(undefined)
  readonly #deps: SessionDeps
  #linkChecks = 0
  #accounts: Accounts | undefined
  #account: UnlockedAccount | undefined
  #off: Unsubscribe | undefined

  constructor(deps: SessionDeps) {
    this.#deps = deps
  }

  /** Resumes a session that survived a reload, or shows the sign-in screen. */
  async init(): Promise<void> {
    if (!this.#deps.secure) {
      this.phase = 'insecure'
      return
    }
    const serving = this.#deps.serving?.().catch(() => undefined)
    await this.#run(async () => {
      const accounts = await this.#open()
      this.known = await accounts.list()
      performance.mark('parley:accounts-open')
      const resumed = await accounts.resume()
      performance.mark('parley:resumed')
      if (resumed === undefined) this.phase = 'signed-out'
      else await this.#enter(resumed, false)
    })
    if (this.phase === 'loading') this.phase = 'signed-out'
    this.org = (await serving)?.org
    const setup = this.org?.setup
    if (this.#deps.linkInvite !== undefined) void this.setInvite(this.#deps.linkInvite)
    else if (setup !== undefined) void this.setInvite(setup, true)
    if (this.phase === 'signed-out' && this.#deps.linkCode !== undefined)
      void this.setLink(this.#deps.linkCode)
  }

  /** Whether sign-up needs an invitation here (the serving peer runs an org). */
  get needsInvite(): boolean {
    return this.org !== undefined
  }

  /** Takes the invitation code typed or pasted into the sign-up form, and checks it. */
  async setInvite(code: string, setup = false): Promise<void> {
    const trimmed = code.trim()
    const n = ++this.#checks
    if (trimmed === '') {
      this.invite = undefined
      return
    }
    this.invite = { code: trimmed, setup, checking: true, summary: undefined, error: undefined }
    const check = this.#deps.checkInvite
    if (check === undefined) return
    let summary: InviteSummary | undefined
    let error: string | undefined
    try {
      summary = await check(trimmed, this.org)
    } catch (err) {
      error = message(err)
    }
    if (n === this.#checks) this.invite = { ...this.invite, checking: false, summary, error }
  }

  /** Takes the device link code typed or pasted on a new device, and checks it. */
  async setLink(code: string): Promise<void> {
    const trimmed = code.trim()
    const n = ++this.#linkChecks
    if (trimmed === '') {
      this.link = undefined
      return
    }
    this.link = { code: trimmed, checking: true, summary: undefined, error: undefined }
    let summary: LinkSummary | undefined
    let error: string | undefined
    try {
      summary = await this.#deps.checkLink?.(trimmed)
    } catch (err) {
      error = message(err)
    }
    if (n === this.#linkChecks) this.link = { ...this.link, checking: false, summary, error }
  }

  /**
   * Signs this browser in as the user the device link code names: a new account (its own key
   * pair, sealed under `password`) for that user ID and name, linked before its peer starts.
   */
  linkDevice(password: string): Promise<void> {
    return this.#run(async () => {
      const link = this.link
      if (link === undefined) throw new Error('Enter the link code your other device shows.')
      const summary = (await this.#deps.checkLink?.(link.code)) ?? link.summary
      if (summary === undefined) throw new Error('This device link code cannot be used.')
      const account = await (await this.#open()).signUp(summary.userId, summary.name, password)
      await this.#enter(account, false, undefined, link.code)
      this.link = undefined
    })
  }

  signUp(userId: string, name: string, password: string): Promise<void> {
    return this.#run(async () => {
      const invite = this.invite
      if (this.needsInvite && invite === undefined)
        throw new Error(
          `Joining ${this.org?.name ?? 'this organisation'} takes an invitation: open the link an admin sent you, or paste its code.`,
        )
      // Checked again with the user ID: used in the meantime, or the user ID taken.
      if (invite !== undefined && this.#deps.checkInvite !== undefined)
        await this.#deps.checkInvite(invite.code, this.org, userId.trim())
      const account = await (await this.#open()).signUp(userId.trim(), name, password)
      await this.#enter(account, true, invite?.code)
    })
  }

  signIn(userId: string, password: string): Promise<void> {
    return this.#run(async () => {
      const account = await (await this.#open()).signIn(userId, password)
      await this.#enter(account, false)
    })
  }

  /** After our user ID was taken: claims `userId` instead. */
  chooseUserId(userId: string): Promise<void> {
    return this.#run(async () => {
      const client = this.session?.client
      const account = this.#account
      if (client === undefined || account === undefined) return
      await (await this.#open()).update(account.author, { userId })
      this.#account = { ...account, userId }
      const claim = await client.rename({ userId })
      if (claim === 'taken') throw new Error(`“${userId}” is taken too. Choose another.`)
      this.phase = 'ready'
    })
  }

  /** Re-seals the signed-in account's key under a new password; rejects (e.g. WrongPasswordError). */
  async changePassword(oldPassword: string, newPassword: string): Promise<void> {
    const account = this.#account
    if (account === undefined) throw new Error('Not signed in.')
    await (await this.#open()).changePassword(account.userId, oldPassword, newPassword)
  }

  signOut(): Promise<void> {
    return this.#run(async () => {
      this.#off?.()
      const s = this.session
      this.session = undefined
      this.#account = undefined
      await s?.stop()
      await (await this.#open()).signOut()
      this.known = await (await this.#open()).list()
      this.phase = 'signed-out'
    })
  }

  clearError(): void {
    this.error = undefined
  }

  destroy(): void {
    this.#off?.()
    void this.session?.stop()
  }

  async #open(): Promise<Accounts> {
    this.#accounts ??= await this.#deps.accounts()
    return this.#accounts
  }

  async #enter(
    account: UnlockedAccount,
    fresh: boolean,
    invite?: string,
    link?: string,
  ): Promise<void> {
    this.phase = 'starting'
    this.#account = account
    const session = await this.#deps.start(account, invite, link)
    this.session = session
    const client = session.client
    this.#off = client.on('me', () => {
      if (client.me.claim === 'taken') this.phase = 'claim'
    })
    if (fresh) {
      // A new account: its user ID must be free in the organisation before it enters, which needs
      // the network now (otherwise the node starts once the first room is painted).
      void session.startNetwork()
      const claim = await client.claim()
      this.phase = claim === 'taken' ? 'claim' : 'ready'
      if (claim === 'taken')
        this.error = `The user ID “${account.userId}” is already taken in your organisation. Choose another.`
    } else {
      this.phase = 'ready'
      // a new linked device has nothing to show before it syncs: its network starts at once
      if (link !== undefined) void session.startNetwork()
      void client.claim().then((c) => c === 'taken' && (this.phase = 'claim'))
    }
  }

  async #run(fn: () => Promise<void>): Promise<void> {
    this.busy = true
    this.error = undefined
    try {
      await fn()
    } catch (err) {
      this.error = message(err)
      if (this.phase === 'starting') this.phase = 'signed-out'
    } finally {
      this.busy = false
    }
  }
}
