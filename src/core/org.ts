/**
 * This peer's view of its organisation: the root statement, every signed record it knows (from the
 * `sys.org` room, admission proofs, its own chain) and the state they resolve to (see
 * src/crdt/org-state.ts). It answers "may this author write now?" for every ingested entry, and
 * makes the records admins issue (src/core/org-issue.ts): invitations, certificates, revocations,
 * role changes.
 */
import { createLogger } from '../net/logger.ts'
import type { Unsubscribe } from '../net/index.ts'
import type { DeviceSigner, HistoryCrypto } from '../crdt/crypto.ts'
import { hexOf } from '../crdt/org-hex.ts'
import {
  orgIdBytes,
  verifyRecordSig,
  type Certificate,
  type DeviceLink,
  type Invitation,
  type OrgRecord,
  type Revocation,
  type Role,
  type RoleChange,
  type RootStatement,
} from '../crdt/org-records.ts'
import { toBase64Url } from '../crdt/base64url.ts'
import { memberAt, resolveOrg, type OrgView } from '../crdt/org-state.ts'
import { refusalOf, type OrgRefusal } from './org-refusal.ts'
import * as issue from './org-issue.ts'
import { OrgPermissionError, type HeadsOf } from './org-issue.ts'

const log = createLogger('parley:core:org')

/** Most records one org holds (a bound on what peers can make us keep). */
const MAX_RECORDS = 100_000

export interface OrgInit {
  crypto: HistoryCrypto
  /** The org's signed root statement (its signature is checked by {@link Org.open}). */
  root: RootStatement
  /** The org's 32-byte network key (libp2p private network). */
  networkKey: Uint8Array
  /** This device's key: our proofs, and records we issue as an admin. */
  signer: DeviceSigner
  /** The root key, on the Node peer that created the org. */
  rootSigner?: DeviceSigner
  /** @default Date.now */
  now?: () => number
}

/** One person (or Node peer) of the org, as the UI and `parley members` show them. */
export interface MemberInfo {
  userId: string
  name: string
  role: Role
  revoked: boolean
  /** Device keys (base64url: the author ids of their entries). */
  keys: string[]
}

/** An entry the ingest check refused, and why. */
export interface EntryRefusal {
  room: string
  author: Uint8Array
  seq: number
  reason: Error | string
}

export { OrgPermissionError }

export class Org {
  readonly crypto: HistoryCrypto
  readonly root: RootStatement
  readonly networkKey: Uint8Array
  readonly signer: DeviceSigner
  readonly rootSigner: DeviceSigner | undefined
  /** sha256 of the root key: the `org` field of every record. */
  readonly org: Uint8Array
  /** base64url of {@link org}. */
  readonly orgId: string
  readonly #now: () => number
  readonly #records = new Map<string, OrgRecord>()
  readonly #listeners = new Set<() => void>()
  readonly #refusals = new Set<(r: EntryRefusal) => void>()
  #heads: HeadsOf | undefined
  #view: OrgView

  private constructor(init: OrgInit) {
    this.crypto = init.crypto
    this.root = init.root
    this.networkKey = init.networkKey
    this.signer = init.signer
    this.rootSigner = init.rootSigner
    this.org = orgIdBytes(init.crypto, init.root.rootKey)
    this.orgId = toBase64Url(this.org)
    this.#now = init.now ?? Date.now
    this.#view = resolveOrg(init.root, this.org, [])
  }

  /** Checks the root statement's signature, then adds `records`. */
  static async open(init: OrgInit, records: readonly OrgRecord[] = []): Promise<Org> {
    if (init.root.kind !== 'root' || !(await verifyRecordSig(init.crypto, init.root)))
      throw new OrgPermissionError('the org root statement is not signed by its root key')
    if (init.networkKey.length !== 32) throw new RangeError('network key must be 32 bytes')
    const org = new Org(init)
    await org.add(records)
    return org
  }

  get name(): string {
    return this.root.name
  }

  now(): number {
    return this.#now()
  }

  view(): OrgView {
    return this.#view
  }

  /** Every record we know (for `sys.org` and proofs). */
  records(): OrgRecord[] {
    return [...this.#records.values()]
  }

  has(rec: OrgRecord): boolean {
    return this.#records.has(hexOf(rec.sig))
  }

  /**
   * Adds records whose signature verifies and that we did not have; returns those. Records of
   * another org or with a bad signature are dropped (logged); a record that verifies but breaks a
   * rule stays (another peer may learn the record that makes it valid) and counts as refused.
   */
  async add(records: Iterable<OrgRecord>): Promise<OrgRecord[]> {
    const fresh: OrgRecord[] = []
    const candidates = [...records].filter(
      (r) => r.kind !== 'root' && !this.#records.has(hexOf(r.sig)),
    )
    // checked concurrently (WebCrypto runs them off the calling thread), added in order
    const valid = await Promise.all(candidates.map((r) => verifyRecordSig(this.crypto, r)))
    for (const [i, r] of candidates.entries()) {
      if (this.#records.has(hexOf(r.sig))) continue
      if (this.#records.size >= MAX_RECORDS) {
        log.error('org record limit reached: dropping a record')
        break
      }
      if (valid[i] !== true) {
        log.error('dropping an org %s record with a bad signature', r.kind)
        continue
      }
      this.#records.set(hexOf(r.sig), r)
      fresh.push(r)
    }
    if (fresh.length > 0) {
      this.#view = resolveOrg(this.root, this.org, this.#records.values())
      for (const cb of [...this.#listeners]) cb()
    }
    return fresh
  }

  onChange(cb: () => void): Unsubscribe {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }

  /**
   * Where this peer's revocations take their cut from: the heads of the given device keys in every
   * room it holds (src/core/revocation-cut.ts `heldHeads`). Without it a revocation has no cut.
   */
  useHeads(heads: HeadsOf): void {
    this.#heads = heads
  }

  /** Tells `cb` of every entry the ingest check refuses (tests, diagnostics). */
  onRefused(cb: (r: EntryRefusal) => void): Unsubscribe {
    this.#refusals.add(cb)
    return () => this.#refusals.delete(cb)
  }

  /** Called by the ingest check for each entry it refuses. */
  refused(r: EntryRefusal): void {
    for (const cb of [...this.#refusals]) cb(r)
  }

  /** Why `author` may not write an entry stamped `wall` (undefined: it may), for the log. */
  refusal(author: Uint8Array, wall: number): string | undefined {
    return refusalOf(this.#view, author, wall)?.text
  }

  /** The same, with its code (what an admission verdict tells the refused peer). */
  refusalOf(author: Uint8Array, wall: number): OrgRefusal | undefined {
    return refusalOf(this.#view, author, wall)
  }

  /** Whether `key` belongs to a member that is valid now. */
  isMember(key: Uint8Array): boolean {
    return memberAt(this.#view, key, this.#now()) !== undefined
  }

  roleOf(key: Uint8Array): Role | undefined {
    return memberAt(this.#view, key, this.#now())?.role
  }

  /** Whether any admin (unrevoked) exists. */
  hasAdmin(): boolean {
    for (const m of this.#view.members.values())
      if (m.role === 'admin' && m.revokedAt === undefined) return true
    return false
  }

  members(): MemberInfo[] {
    return [...this.#view.members.values()]
      .map((m) => ({
        userId: m.userId,
        name: m.name,
        role: m.role,
        revoked: m.revokedAt !== undefined && m.revokedAt <= this.#now(),
        keys: [...m.keys.values()].map((c) => toBase64Url(c.key)),
      }))
      .sort((a, b) => (a.userId < b.userId ? -1 : 1))
  }

  /**
   * The records that prove `key` is a member: its certificate, the chain of issuers up to the root
   * (admin certificates, the invitation or device link it redeemed), the role changes of those users.
   */
  chainOf(key: Uint8Array): OrgRecord[] {
    // From the raw records, not the resolved view: a newcomer that does not know its inviting
    // admin's certificate yet still shows its redemption to peers that do.
    const all = [...this.#records.values()]
    const out = new Map<string, OrgRecord>()
    const keys = new Set<string>()
    const visit = (k: Uint8Array, depth: number): void => {
      if (depth > 16 || keys.has(hexOf(k))) return
      keys.add(hexOf(k))
      for (const cert of all) {
        if (cert.kind !== 'cert' || hexOf(cert.key) !== hexOf(k)) continue
        out.set(hexOf(cert.sig), cert)
        for (const r of all)
          if (r.kind === 'role' && r.userId === cert.userId) out.set(hexOf(r.sig), r)
        const invs = all.filter(
          (r): r is Invitation | DeviceLink =>
            (r.kind === 'invite' && hexOf(r.inviteKey) === hexOf(cert.issuer)) ||
            (r.kind === 'link' && hexOf(r.linkKey) === hexOf(cert.issuer)),
        )
        for (const inv of invs) {
          out.set(hexOf(inv.sig), inv)
          visit(inv.issuer, depth + 1)
        }
        if (invs.length === 0) visit(cert.issuer, depth + 1)
      }
    }
    visit(key, 0)
    return [...out.values()]
  }

  /** Known revocations, newest first. */
  revocations(): Revocation[] {
    return [...this.#records.values()]
      .filter((r): r is Revocation => r.kind === 'revoke')
      .sort((a, b) => b.at - a.at)
  }

  /** A certificate issued directly (first admin, a Node peer, a user's second device). */
  issueCertificate(
    fields: Pick<Certificate, 'userId' | 'name' | 'key' | 'role'> & { notAfter?: number },
  ): Promise<Certificate> {
    return issue.issueCertificate(this, fields)
  }

  /** A single-use invitation; returns it and its code (which carries the invitation's secret). */
  createInvite(
    opts: { role?: Role; expiresInMs?: number; addrs?: string[] } = {},
  ): Promise<{ invitation: Invitation; code: string }> {
    return issue.createInvite(this, opts)
  }

  /** A single-use link for another device of our own user (any member may make one). */
  createDeviceLink(
    opts: { expiresInMs?: number; addrs?: string[] } = {},
  ): Promise<{ link: DeviceLink; code: string }> {
    return issue.createDeviceLink(this, opts)
  }

  /**
   * Revokes every device of `userId` from now on. With {@link useHeads}, the revocation carries a
   * cut: the heads of the user's devices in every room this peer holds.
   */
  revoke(userId: string): Promise<Revocation> {
    return issue.revoke(this, userId, this.#heads)
  }

  /** Promotes or demotes `userId`. */
  setRole(userId: string, role: 'admin' | 'member'): Promise<RoleChange> {
    return issue.setRole(this, userId, role)
  }
}
