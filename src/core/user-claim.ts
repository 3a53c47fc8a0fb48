/**
 * Who we are in the `sys.people` directory: our user ID and display name, the directory as last
 * read, and our claim on the user ID — checked against the directory once another peer has been
 * reached, posted when free, `taken` when another author holds it.
 */
import { PEOPLE_ROOM, encodeRecord, type Person } from '../crdt/directory.ts'
import type { Messenger } from './messenger.ts'
import { directoryOf, heldByOther, type ClaimState } from './people.ts'

export interface Me {
  author: string
  userId: string
  name: string
  claim: ClaimState
}

export interface UserClaimInit {
  messenger: Messenger
  account: { userId: string; name: string; author: string }
  /** The user ID an author's device belongs to in the org, if any (our own linked devices). */
  userOf: (author: string) => string | undefined
  /**
   * Loads every period of the directory room not loaded yet and reads it ({@link UserClaim.read};
   * ParleyClient then tells the UI).
   */
  loadDirectory: () => Promise<void>
  /** `me` changed. */
  onMe: () => void
}

export class UserClaim {
  readonly #i: UserClaimInit
  #me: Me
  #directory = new Map<string, Person>()
  #reads = 0

  constructor(init: UserClaimInit) {
    this.#i = init
    this.#me = { ...init.account, claim: 'pending' }
  }

  get me(): Me {
    return this.#me
  }

  /** The directory as last read: each author's user ID and name. */
  get directory(): ReadonlyMap<string, Person> {
    return this.#directory
  }

  /**
   * Checks our user ID against the directory once another peer has been reached (within `waitMs`),
   * and claims it if it is free. `pending`: no peer answered in time (the claim is posted anyway and
   * conflicts are resolved when they meet).
   */
  async claim(waitMs: number): Promise<ClaimState> {
    const { messenger } = this.#i
    const net = messenger.net
    const deadline = AbortSignal.timeout(waitMs)
    if (net.peers().length === 0) {
      await new Promise<void>((resolve) => {
        const off = net.onPeers((p) => p.length > 0 && (off(), resolve()))
        deadline.addEventListener('abort', () => (off(), resolve()), { once: true })
      })
    }
    const reached = net.peers().length > 0
    if (reached) await messenger.syncNow(deadline).catch(() => undefined)
    await this.#i.loadDirectory()
    if (this.#taken()) {
      this.#setClaim('taken')
      return 'taken'
    }
    const mine = this.#directory.get(this.#me.author)
    if (mine?.userId !== this.#me.userId || mine.name !== this.#me.name) {
      const { userId, name } = this.#me
      await messenger.post(PEOPLE_ROOM, encodeRecord({ t: 'profile', userId, name }))
    }
    this.#setClaim(reached ? 'ok' : 'pending')
    await this.#i.loadDirectory()
    return this.#me.claim
  }

  /** Takes another user ID (after ours was taken) or display name, and claims it. */
  async rename(fields: { userId?: string; name?: string }): Promise<ClaimState> {
    this.#me = { ...this.#me, ...fields, claim: 'pending' }
    this.#i.onMe()
    return this.claim(2_000)
  }

  /**
   * Reads the directory room again; false when a newer read overtook this one (its result is
   * dropped). A conflict on our user ID found here makes the claim `taken`.
   */
  async read(): Promise<boolean> {
    const n = ++this.#reads
    const directory = directoryOf(await this.#i.messenger.messages(PEOPLE_ROOM))
    if (n !== this.#reads) return false
    this.#directory = directory
    const mine = this.#directory.get(this.#me.author)
    if (mine?.conflict === true && this.#taken()) this.#setClaim('taken')
    return true
  }

  /** Whether our user ID is held by another author (not one of our own user's linked devices). */
  #taken(): boolean {
    const ours = (author: string): boolean => this.#i.userOf(author) === this.#me.userId
    return heldByOther(this.#directory, this.#me.userId, this.#me.author, ours)
  }

  #setClaim(claim: ClaimState): void {
    if (this.#me.claim === claim) return
    this.#me = { ...this.#me, claim }
    this.#i.onMe()
  }
}
