/**
 * This peer's view of its organisation: the root statement, every signed record it knows (from the
 * `sys.org` room, admission proofs, its own chain) and the state they resolve to (see
 * src/crdt/org-state.ts). It answers "may this author write now?" for every ingested entry, and
 * makes the records admins issue: invitations, certificates, revocations, role changes.
 */
import { createLogger } from '../net/logger.ts'
import type { Unsubscribe } from '../net/index.ts'
import type { DeviceSigner, HistoryCrypto } from '../crdt/crypto.ts'
import { createNobleSigner, generateDeviceKey } from '../crdt/crypto.ts'
import { encodeInviteCode, encodeLinkCode } from '../crdt/org-code.ts'
import { hexOf } from '../crdt/org-hex.ts'
import {
  MAX_LINK_MS,
  orgIdBytes,
  signRecord,
  toBase64Url,
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
import { memberAt, resolveOrg, type OrgView } from '../crdt/org-state.ts'
import { cutRoomsOf, type CutHead, type RevocationCut } from '../crdt/org-cut.ts'
import { refusalOf, type OrgRefusal } from './org-refusal.ts'

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

/** The caller may not do this (not an admin, last admin, unknown user, …). */
export class OrgPermissionError extends Error {
  static override readonly name = 'OrgPermissionError'
  constructor(message: string) {
    super(message)
    this.name = 'OrgPermissionError'
  }
}

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
  #heads: ((keys: Uint8Array[]) => Promise<Map<string, CutHead[]>>) | undefined
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
  useHeads(heads: (keys: Uint8Array[]) => Promise<Map<string, CutHead[]>>): void {
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

  /** The key we issue records with: our device key if we are an admin, else the root key. */
  #issuer(): DeviceSigner {
    if (this.roleOf(this.signer.publicKey) === 'admin') return this.signer
    if (this.rootSigner !== undefined) return this.rootSigner
    throw new OrgPermissionError('only an admin can do this')
  }

  /** An issue time strictly after our own certificate's (see the tie rule in org-state.ts). */
  #issueTime(issuer: DeviceSigner): number {
    const userId = this.#view.byKey.get(hexOf(issuer.publicKey))
    const cert = this.#view.members.get(userId ?? '')?.keys.get(hexOf(issuer.publicKey))
    return Math.max(this.#now(), (cert?.notBefore ?? 0) + 1)
  }

  /** A certificate issued directly (first admin, a Node peer, a user's second device). */
  async issueCertificate(
    fields: Pick<Certificate, 'userId' | 'name' | 'key' | 'role'> & { notAfter?: number },
  ): Promise<Certificate> {
    const issuer = this.#issuer()
    const cert = await signRecord<Certificate>(issuer, {
      kind: 'cert',
      org: this.org,
      ...fields,
      notBefore: this.#issueTime(issuer),
      notAfter: fields.notAfter ?? 0,
      issuer: issuer.publicKey,
    })
    await this.add([cert])
    return cert
  }

  /** A single-use invitation; returns it and its code (which carries the invitation's secret). */
  async createInvite(
    opts: { role?: Role; expiresInMs?: number; addrs?: string[] } = {},
  ): Promise<{ invitation: Invitation; code: string }> {
    const issuer = this.#issuer()
    const key = generateDeviceKey()
    const issued = this.#issueTime(issuer)
    const invitation = await signRecord<Invitation>(issuer, {
      kind: 'invite',
      org: this.org,
      inviteId: crypto.getRandomValues(new Uint8Array(16)),
      role: opts.role ?? 'member',
      issued,
      expires: issued + (opts.expiresInMs ?? 7 * 86_400_000),
      inviteKey: createNobleSigner(key.secretKey).publicKey,
      issuer: issuer.publicKey,
    })
    await this.add([invitation])
    const code = encodeInviteCode({
      invitation,
      inviteSecret: key.secretKey,
      root: this.root,
      networkKey: this.networkKey,
      addrs: opts.addrs ?? [],
    })
    return { invitation, code }
  }

  /**
   * A single-use link for another device of our own user (any member may make one; it is signed
   * by this device's key and expires within {@link MAX_LINK_MS}). The code carries our chain.
   */
  async createDeviceLink(
    opts: { expiresInMs?: number; addrs?: string[] } = {},
  ): Promise<{ link: DeviceLink; code: string }> {
    const me = memberAt(this.#view, this.signer.publicKey, this.#now())
    if (me === undefined || me.role === 'peer')
      throw new OrgPermissionError('only a member with a valid certificate can link a device')
    const key = generateDeviceKey()
    const issued = this.#issueTime(this.signer)
    const link = await signRecord<DeviceLink>(this.signer, {
      kind: 'link',
      org: this.org,
      userId: me.userId,
      issued,
      expires: issued + Math.min(opts.expiresInMs ?? MAX_LINK_MS, MAX_LINK_MS),
      linkKey: createNobleSigner(key.secretKey).publicKey,
      issuer: this.signer.publicKey,
    })
    await this.add([link])
    const code = encodeLinkCode({
      link,
      linkSecret: key.secretKey,
      root: this.root,
      networkKey: this.networkKey,
      addrs: opts.addrs ?? [],
      chain: this.chainOf(this.signer.publicKey),
    })
    return { link, code }
  }

  /**
   * Revokes every device of `userId` from now on. With {@link useHeads}, the revocation carries a
   * cut (src/crdt/org-cut.ts): the heads of the user's devices in every room this peer holds, beyond
   * which their entries are refused whatever their clock.
   */
  async revoke(userId: string): Promise<Revocation> {
    const m = this.#view.members.get(userId)
    if (m === undefined) throw new OrgPermissionError(`no member ${userId}`)
    const admins = [...this.#view.members.values()].filter(
      (x) => x.role === 'admin' && x.revokedAt === undefined,
    )
    if (m.role === 'admin' && admins.length <= 1)
      throw new OrgPermissionError('the last admin cannot be removed')
    const issuer = this.#issuer()
    const at = this.#issueTime(issuer)
    const cut = await this.#cut(
      issuer,
      m.userId,
      [...m.keys.values()].map((c) => c.key),
      at,
    )
    const rec = await signRecord<Revocation>(issuer, {
      kind: 'revoke',
      org: this.org,
      userId,
      at,
      issuer: issuer.publicKey,
      ...(cut === undefined ? {} : { cut: cut.sig }),
    })
    // the cut first: a peer that holds the revocation without it refuses the user's every entry
    await this.add(cut === undefined ? [rec] : [cut, rec])
    return rec
  }

  async #cut(
    issuer: DeviceSigner,
    userId: string,
    keys: Uint8Array[],
    at: number,
  ): Promise<RevocationCut | undefined> {
    if (this.#heads === undefined) return undefined
    const { rooms, left } = cutRoomsOf(await this.#heads(keys))
    if (left.length > 0)
      log.error(
        'revocation cut of %s leaves out %d rooms (too many): clock rule there',
        userId,
        left.length,
      )
    return signRecord<RevocationCut>(issuer, {
      kind: 'cut',
      org: this.org,
      userId,
      at,
      issuer: issuer.publicKey,
      rooms,
    })
  }

  /** Promotes or demotes `userId`. */
  async setRole(userId: string, role: 'admin' | 'member'): Promise<RoleChange> {
    const m = this.#view.members.get(userId)
    if (m === undefined || m.revokedAt !== undefined)
      throw new OrgPermissionError(`no member ${userId}`)
    if (m.role === 'peer') throw new OrgPermissionError(`${userId} is a Node peer`)
    const admins = [...this.#view.members.values()].filter(
      (x) => x.role === 'admin' && x.revokedAt === undefined,
    )
    if (m.role === 'admin' && role !== 'admin' && admins.length <= 1)
      throw new OrgPermissionError('the last admin cannot be demoted')
    const issuer = this.#issuer()
    const rec = await signRecord<RoleChange>(issuer, {
      kind: 'role',
      org: this.org,
      userId,
      role,
      at: this.#issueTime(issuer),
      issuer: issuer.publicKey,
    })
    await this.add([rec])
    return rec
  }
}
