/**
 * The organisation's signed records (docs/security.md, ORG-DESIGN "Keys and certificates"): the root
 * statement, member certificates, invitations, revocations and role changes. Pure encode/decode,
 * strict like the entry codec: one record has exactly one byte string, every other byte string is a
 * {@link MalformedOrgRecordError}.
 *
 * Version 1 layout (varuints canonical; `sig` by `signer` over `"parley/org/1\0" ‖ bytes before sig`):
 * ```
 * u8 1 | u8 kind | fields | sig[64]
 * root   (1): rootKey[32] | varstring name | varuint created                                  signer rootKey
 * cert   (2): org[32] | varstring userId | varstring name | key[32] | u8 role | varuint notBefore
 *             | varuint notAfter (0: none) | issuer[32]                                       signer issuer
 * invite (3): org[32] | inviteId[16] | u8 role | varuint issued | varuint expires | inviteKey[32]
 *             | issuer[32]                                                                    signer issuer
 * revoke (4): org[32] | varstring userId | varuint at | issuer[32]                           signer issuer
 * role   (5): org[32] | varstring userId | u8 role | varuint at | issuer[32]                 signer issuer
 * link   (6): org[32] | varstring userId | varuint issued | varuint expires | linkKey[32]
 *             | issuer[32]                                                                    signer issuer
 * revoke (7): org[32] | varstring userId | varuint at | issuer[32] | cut[64]                 signer issuer
 * cut    (8): org[32] | varstring userId | varuint at | issuer[32] | rooms (src/crdt/org-cut.ts)
 *                                                                                             signer issuer
 * ```
 * Kind 7 is a revocation with a cut: `cut` is the signature of its cut record (kind 8, at most
 * {@link MAX_CUT_RECORD_BYTES}; every other record at most {@link MAX_ORG_RECORD_BYTES}). Both
 * decode as before: a kind 4 revocation is one without a cut (the clock rule).
 * `org` is the org id bytes: sha256(root public key). A certificate whose issuer is an invitation's
 * `inviteKey` is that invitation's redemption (the invitee's binding of user ID, name and key).
 * A device link is a member's own invitation for a second device of the same user: issued by one
 * of the user's device keys, for its own user ID only, valid at most {@link MAX_LINK_MS}; the
 * certificate its `linkKey` signs is the new device's.
 */
import * as encoding from 'lib0/encoding'
import { ByteReader } from './entry.ts'
import { KEY_BYTES, SIG_BYTES, type DeviceSigner, type HistoryCrypto } from './crypto.ts'
import { MAX_DISPLAY_NAME, isUserId } from './directory.ts'
import { MAX_WALL } from './hlc.ts'
import { MalformedOrgRecordError } from './errors.ts'
import { toBase64Url } from './base64url.ts'
import {
  MAX_CUT_RECORD_BYTES,
  checkCutRooms,
  readCutRooms,
  writeCutRooms,
  type RevocationCut,
} from './org-cut.ts'
import {
  ORG_VERSION,
  MAX_ORG_RECORD_BYTES,
  MAX_ORG_NAME_BYTES,
  INVITE_ID_BYTES,
  MAX_LINK_MS,
  type Role,
  type OrgRecord,
  type Unsigned,
  type UnsignedRecord,
} from './org-record-types.ts'

export { MAX_CUT_RECORD_BYTES, type RevocationCut }

// The records' shapes and limits, for the codec's users to import with it.
export * from './org-record-types.ts'

const ROLES: readonly Role[] = ['member', 'admin', 'peer']
const DOMAIN = new TextEncoder().encode('parley/org/1\0')
const KINDS = ['root', 'cert', 'invite', 'revoke', 'role', 'link', 'revoke', 'cut'] as const
/** The kind byte of a revocation with a cut. */
const REVOKE_CUT = 7

const bad = (field: string): never => {
  throw new MalformedOrgRecordError(`Malformed org record: ${field}`)
}
const isTime = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= MAX_WALL
const isName = (s: string, max: number): boolean =>
  s.trim().length > 0 && new TextEncoder().encode(s).length <= max

function check(r: UnsignedRecord): void {
  const keys: Uint8Array[] =
    r.kind === 'root'
      ? [r.rootKey]
      : r.kind === 'cert'
        ? [r.org, r.key, r.issuer]
        : r.kind === 'invite'
          ? [r.org, r.inviteKey, r.issuer]
          : r.kind === 'link'
            ? [r.org, r.linkKey, r.issuer]
            : [r.org, r.issuer]
  if (keys.some((k) => k.length !== KEY_BYTES)) bad('key length')
  switch (r.kind) {
    case 'root':
      if (!isName(r.name, MAX_ORG_NAME_BYTES)) bad('name')
      if (!isTime(r.created)) bad('created')
      return
    case 'cert':
      if (!isUserId(r.userId)) bad('userId')
      if (!isName(r.name, MAX_DISPLAY_NAME * 3) || r.name.length > MAX_DISPLAY_NAME) bad('name')
      if (!ROLES.includes(r.role)) bad('role')
      if (!isTime(r.notBefore) || !isTime(r.notAfter)) bad('validity')
      if (r.notAfter !== 0 && r.notAfter <= r.notBefore) bad('validity')
      return
    case 'invite':
      if (r.inviteId.length !== INVITE_ID_BYTES) bad('inviteId')
      if (!ROLES.includes(r.role)) bad('role')
      if (!isTime(r.issued) || !isTime(r.expires) || r.expires <= r.issued) bad('validity')
      return
    case 'link':
      if (!isUserId(r.userId)) bad('userId')
      if (!isTime(r.issued) || !isTime(r.expires) || r.expires <= r.issued) bad('validity')
      if (r.expires - r.issued > MAX_LINK_MS) bad('validity')
      return
    case 'cut':
      if (!isUserId(r.userId)) bad('userId')
      if (!isTime(r.at)) bad('at')
      checkCutRooms(r.rooms, bad)
      return
    case 'revoke':
    case 'role':
      if (!isUserId(r.userId)) bad('userId')
      if (!isTime(r.at)) bad('at')
      if (r.kind === 'revoke' && r.cut !== undefined && r.cut.length !== SIG_BYTES) bad('cut')
      if (r.kind === 'role' && r.role === 'peer') bad('role')
      if (r.kind === 'role' && !ROLES.includes(r.role)) bad('role')
  }
}

/** The bytes a record's signature covers, without the signature. Throws on out-of-bound fields. */
export function encodeUnsigned(r: UnsignedRecord): Uint8Array {
  check(r)
  const e = encoding.createEncoder()
  encoding.writeUint8(e, ORG_VERSION)
  const withCut = r.kind === 'revoke' && r.cut !== undefined
  encoding.writeUint8(e, r.kind === 'cut' ? 8 : withCut ? REVOKE_CUT : KINDS.indexOf(r.kind) + 1)
  switch (r.kind) {
    case 'root':
      encoding.writeUint8Array(e, r.rootKey)
      encoding.writeVarString(e, r.name)
      encoding.writeVarUint(e, r.created)
      break
    case 'cert':
      encoding.writeUint8Array(e, r.org)
      encoding.writeVarString(e, r.userId)
      encoding.writeVarString(e, r.name)
      encoding.writeUint8Array(e, r.key)
      encoding.writeUint8(e, ROLES.indexOf(r.role))
      encoding.writeVarUint(e, r.notBefore)
      encoding.writeVarUint(e, r.notAfter)
      encoding.writeUint8Array(e, r.issuer)
      break
    case 'invite':
      encoding.writeUint8Array(e, r.org)
      encoding.writeUint8Array(e, r.inviteId)
      encoding.writeUint8(e, ROLES.indexOf(r.role))
      encoding.writeVarUint(e, r.issued)
      encoding.writeVarUint(e, r.expires)
      encoding.writeUint8Array(e, r.inviteKey)
      encoding.writeUint8Array(e, r.issuer)
      break
    case 'link':
      encoding.writeUint8Array(e, r.org)
      encoding.writeVarString(e, r.userId)
      encoding.writeVarUint(e, r.issued)
      encoding.writeVarUint(e, r.expires)
      encoding.writeUint8Array(e, r.linkKey)
      encoding.writeUint8Array(e, r.issuer)
      break
    case 'cut':
      encoding.writeUint8Array(e, r.org)
      encoding.writeVarString(e, r.userId)
      encoding.writeVarUint(e, r.at)
      encoding.writeUint8Array(e, r.issuer)
      writeCutRooms(e, r.rooms)
      break
    case 'revoke':
    case 'role':
      encoding.writeUint8Array(e, r.org)
      encoding.writeVarString(e, r.userId)
      if (r.kind === 'role') encoding.writeUint8(e, ROLES.indexOf(r.role))
      encoding.writeVarUint(e, r.at)
      encoding.writeUint8Array(e, r.issuer)
      if (r.kind === 'revoke' && r.cut !== undefined) encoding.writeUint8Array(e, r.cut)
  }
  return encoding.toUint8Array(e)
}

/** The key that must sign `r`. */
export const signerOf = (r: UnsignedRecord): Uint8Array =>
  r.kind === 'root' ? r.rootKey : r.issuer

/** What a signature over `unsigned` covers. */
export function signedMessage(unsigned: Uint8Array): Uint8Array {
  const m = new Uint8Array(DOMAIN.length + unsigned.length)
  m.set(DOMAIN)
  m.set(unsigned, DOMAIN.length)
  return m
}

/** Signs `r` with `signer`, which must be the record's issuer (root key for a root statement). */
export async function signRecord<R extends OrgRecord>(
  signer: DeviceSigner,
  r: Unsigned<R>,
): Promise<R> {
  const u = r as UnsignedRecord
  const issuer = signerOf(u)
  if (issuer.length !== KEY_BYTES || !issuer.every((b, i) => b === signer.publicKey[i]))
    throw new RangeError('signRecord: the signer is not the record issuer')
  const unsigned = encodeUnsigned(u)
  const sig = await signer.sign(signedMessage(unsigned))
  const bytes = new Uint8Array(unsigned.length + SIG_BYTES)
  bytes.set(unsigned)
  bytes.set(sig, unsigned.length)
  return { ...r, bytes, signer: issuer, sig } as unknown as R
}

/**
 * Parses untrusted bytes. Throws {@link MalformedOrgRecordError} and nothing else. Does not check
 * the signature: see {@link verifyRecordSig}.
 */
export function decodeOrgRecord(bytes: Uint8Array): OrgRecord {
  const max = bytes[1] === 8 ? MAX_CUT_RECORD_BYTES : MAX_ORG_RECORD_BYTES
  if (bytes.length < 2 + KEY_BYTES + SIG_BYTES || bytes.length > max) bad('size')
  const body = bytes.subarray(0, bytes.length - SIG_BYTES)
  const sig = bytes.slice(bytes.length - SIG_BYTES)
  const r = new ByteReader(
    body,
    (reason) => new MalformedOrgRecordError(`Malformed org record: ${reason}`),
  )
  if (r.u8() !== ORG_VERSION) throw r.fail('unknown version')
  const kindByte = r.u8()
  const kind = KINDS[kindByte - 1] ?? bad('unknown kind')
  const role = (): Role => ROLES[r.u8()] ?? bad('role')
  const time = (): number => r.varUint(MAX_WALL)
  let u: UnsignedRecord
  switch (kind) {
    case 'root':
      u = { kind, rootKey: r.copy(KEY_BYTES), name: r.string(MAX_ORG_NAME_BYTES), created: time() }
      break
    case 'cert':
      u = {
        kind,
        org: r.copy(KEY_BYTES),
        userId: r.string(32),
        name: r.string(MAX_DISPLAY_NAME * 3),
        key: r.copy(KEY_BYTES),
        role: role(),
        notBefore: time(),
        notAfter: time(),
        issuer: r.copy(KEY_BYTES),
      }
      break
    case 'invite':
      u = {
        kind,
        org: r.copy(KEY_BYTES),
        inviteId: r.copy(INVITE_ID_BYTES),
        role: role(),
        issued: time(),
        expires: time(),
        inviteKey: r.copy(KEY_BYTES),
        issuer: r.copy(KEY_BYTES),
      }
      break
    case 'link':
      u = {
        kind,
        org: r.copy(KEY_BYTES),
        userId: r.string(32),
        issued: time(),
        expires: time(),
        linkKey: r.copy(KEY_BYTES),
        issuer: r.copy(KEY_BYTES),
      }
      break
    case 'revoke':
      u = {
        kind,
        org: r.copy(KEY_BYTES),
        userId: r.string(32),
        at: time(),
        issuer: r.copy(KEY_BYTES),
        ...(kindByte === REVOKE_CUT ? { cut: r.copy(SIG_BYTES) } : {}),
      }
      break
    case 'cut':
      u = {
        kind,
        org: r.copy(KEY_BYTES),
        userId: r.string(32),
        at: time(),
        issuer: r.copy(KEY_BYTES),
        rooms: readCutRooms(r),
      }
      break
    case 'role':
      u = {
        kind,
        org: r.copy(KEY_BYTES),
        userId: r.string(32),
        role: role(),
        at: time(),
        issuer: r.copy(KEY_BYTES),
      }
  }
  r.end()
  check(u)
  return { ...u, bytes: bytes.slice(), signer: signerOf(u), sig } as OrgRecord
}

/** Whether the record's signature verifies against its issuer (never throws). */
export async function verifyRecordSig(crypto: HistoryCrypto, rec: OrgRecord): Promise<boolean> {
  const unsigned = rec.bytes.subarray(0, rec.bytes.length - SIG_BYTES)
  return crypto.verify(rec.signer, rec.sig, signedMessage(unsigned))
}

/** The org id bytes: sha256 of the root public key. */
export const orgIdBytes = (crypto: HistoryCrypto, rootKey: Uint8Array): Uint8Array =>
  crypto.sha256(rootKey)

/** The org id as text: base64url of sha256(root public key). */
export const orgIdOf = (crypto: HistoryCrypto, rootKey: Uint8Array): string =>
  toBase64Url(orgIdBytes(crypto, rootKey))
