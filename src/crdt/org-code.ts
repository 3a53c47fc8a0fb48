/**
 * Two carriers of org records: the invite code (a URL-safe string an admin hands to a colleague)
 * and the admission proof (the bytes a peer shows on every connection). Pure encode/decode; the
 * decoders reject garbage with {@link InvalidInviteCodeError} / {@link MalformedProofError}.
 *
 * Invite code, version 1, base64url of:
 * `u8 1 | varbytes invitation | inviteSecret[32] | varbytes root statement | networkKey[32] |
 *  varuint n ≤ 8 | varstring addr ×n`
 *
 * Device link code (a member's code for its own next device), version 2, base64url of:
 * `u8 2 | varbytes link | linkSecret[32] | varbytes root statement | networkKey[32] |
 *  varuint n ≤ 8 | varstring addr ×n | varuint m ≤ 16 | varbytes record ×m` (the issuing device's
 * certificate chain, so the new device knows its user before it has synced `sys.org`).
 *
 * Admission proof, version 1:
 * `u8 1 | varstring peerId | key[32] | varuint n | varbytes record ×n | sig[64]`, `sig` by `key` over
 * `"parley/admit/1\0" ‖ org[32] ‖ utf8(peerId)`: a captured proof is useless on another peer id.
 */
import * as encoding from 'lib0/encoding'
import { ByteReader } from './entry.ts'
import { KEY_BYTES, SIG_BYTES, type DeviceSigner, type HistoryCrypto } from './crypto.ts'
import { InvalidInviteCodeError, MalformedOrgRecordError, MalformedProofError } from './errors.ts'
import {
  MAX_ORG_RECORD_BYTES,
  decodeOrgRecord,
  orgIdBytes,
  verifyRecordSig,
  type DeviceLink,
  type Invitation,
  type OrgRecord,
  type RootStatement,
} from './org-records.ts'
import { fromBase64Url, toBase64Url } from './base64url.ts'

export const CODE_VERSION = 1
export const LINK_CODE_VERSION = 2
/** Most chain records a device link code carries. */
export const MAX_LINK_CHAIN = 16
export const PROOF_VERSION = 1
/** Most dial addresses an invite code carries. */
export const MAX_CODE_ADDRS = 8
const MAX_ADDR_BYTES = 256
/** Longest invite code, in characters. */
export const MAX_INVITE_CODE_LENGTH = 4096
/** Most records one admission proof carries. */
export const MAX_PROOF_RECORDS = 96
/** Largest admission proof (the network layer's bound). */
export const MAX_PROOF_BYTES = 64 * 1024
const MAX_PEER_ID_BYTES = 128

/** Everything an invitee needs to join: the invitation and its key, the org, where to dial. */
export interface InviteCode {
  invitation: Invitation
  /** The invitation's Ed25519 secret seed: whoever holds the code may redeem it (once). */
  inviteSecret: Uint8Array
  root: RootStatement
  /** The org's 32-byte pre-shared network key. */
  networkKey: Uint8Array
  /** Multiaddrs of peers to dial first. */
  addrs: string[]
}

/** A member's code for its own next device: like an invite code, with its link instead. */
export interface LinkCode {
  link: DeviceLink
  /** The link's Ed25519 secret seed: whoever holds the code may link one device (once). */
  linkSecret: Uint8Array
  root: RootStatement
  networkKey: Uint8Array
  addrs: string[]
  /** The issuing device's certificate chain. */
  chain: OrgRecord[]
}

function writeCode(
  e: encoding.Encoder,
  version: number,
  c: { record: OrgRecord; secret: Uint8Array; root: RootStatement; networkKey: Uint8Array },
  addrs: string[],
): void {
  if (c.secret.length !== KEY_BYTES || c.networkKey.length !== KEY_BYTES)
    throw new RangeError('encode code: key length')
  const fit = addrs
    .filter((a) => new TextEncoder().encode(a).length <= MAX_ADDR_BYTES)
    .slice(0, MAX_CODE_ADDRS)
  encoding.writeUint8(e, version)
  encoding.writeVarUint8Array(e, c.record.bytes)
  encoding.writeUint8Array(e, c.secret)
  encoding.writeVarUint8Array(e, c.root.bytes)
  encoding.writeUint8Array(e, c.networkKey)
  encoding.writeVarUint(e, fit.length)
  for (const a of fit) encoding.writeVarString(e, a)
}

export function encodeInviteCode(c: InviteCode): string {
  const e = encoding.createEncoder()
  writeCode(e, CODE_VERSION, { ...c, record: c.invitation, secret: c.inviteSecret }, c.addrs)
  return toBase64Url(encoding.toUint8Array(e))
}

/** Encodes a link code; chain records that would make it longer than the limit are left out. */
export function encodeLinkCode(c: LinkCode): string {
  for (let n = Math.min(c.chain.length, MAX_LINK_CHAIN); ; n--) {
    const e = encoding.createEncoder()
    writeCode(e, LINK_CODE_VERSION, { ...c, record: c.link, secret: c.linkSecret }, c.addrs)
    encoding.writeVarUint(e, n)
    for (const r of c.chain.slice(0, n)) encoding.writeVarUint8Array(e, r.bytes)
    const code = toBase64Url(encoding.toUint8Array(e))
    if (code.length <= MAX_INVITE_CODE_LENGTH || n === 0) return code
  }
}

function recordOf<K extends OrgRecord['kind']>(
  bytes: Uint8Array,
  kind: K,
  fail: (why: string) => Error,
): Extract<OrgRecord, { kind: K }> {
  let rec: OrgRecord
  try {
    rec = decodeOrgRecord(bytes)
  } catch (err) {
    if (err instanceof MalformedOrgRecordError) throw fail(err.message)
    throw err
  }
  if (rec.kind !== kind) throw fail(`expected a ${kind} record`)
  return rec as Extract<OrgRecord, { kind: K }>
}

/**
 * Parses an invite code (surrounding whitespace and a `…#invite=` link prefix are ignored). Throws
 * {@link InvalidInviteCodeError} and nothing else. Signatures: see {@link verifyInviteCode}.
 */
export function decodeInviteCode(text: string): InviteCode {
  const c = readCode(text, CODE_VERSION, 'invite', 'invite')
  c.r.end()
  const { root, networkKey, addrs } = c
  return { invitation: c.record, inviteSecret: c.secret, root, networkKey, addrs }
}

/**
 * Parses a device link code (whitespace and a `…#link=` link prefix are ignored). Throws
 * {@link InvalidInviteCodeError} and nothing else. Signatures: see {@link verifyLinkCode}.
 */
export function decodeLinkCode(text: string): LinkCode {
  const { r, fail, ...c } = readCode(text, LINK_CODE_VERSION, 'link', 'link')
  const chain: OrgRecord[] = []
  const n = r.count(MAX_LINK_CHAIN, 2)
  for (let i = 0; i < n; i++) {
    const b = r.view(r.varUint(MAX_ORG_RECORD_BYTES))
    try {
      chain.push(decodeOrgRecord(b))
    } catch (err) {
      throw fail((err as Error).message)
    }
  }
  r.end()
  return {
    link: c.record,
    linkSecret: c.secret,
    root: c.root,
    networkKey: c.networkKey,
    addrs: c.addrs,
    chain,
  }
}

function readCode<K extends 'invite' | 'link'>(
  text: string,
  version: number,
  kind: K,
  anchor: string,
) {
  const what = kind === 'invite' ? 'invite code' : 'device link code'
  const fail = (why: string): Error => new InvalidInviteCodeError(`Invalid ${what}: ${why}`)
  if (typeof text !== 'string' || text.length > MAX_INVITE_CODE_LENGTH + 512) throw fail('size')
  const code = text.trim().replace(new RegExp(`^.*#${anchor}=`), '')
  if (code.length > MAX_INVITE_CODE_LENGTH) throw fail('size')
  const bytes = fromBase64Url(code)
  if (bytes === undefined || bytes.length < 2) throw fail('not base64url')
  const r = new ByteReader(bytes, fail)
  const v = r.u8()
  if (v !== version)
    throw fail(v === CODE_VERSION || v === LINK_CODE_VERSION ? `not an ${what}` : 'unknown version')
  const record = recordOf(r.view(r.varUint(MAX_ORG_RECORD_BYTES)), kind, fail)
  const secret = r.copy(KEY_BYTES)
  const root = recordOf(r.view(r.varUint(MAX_ORG_RECORD_BYTES)), 'root', fail)
  const networkKey = r.copy(KEY_BYTES)
  const n = r.count(MAX_CODE_ADDRS, 1)
  const addrs: string[] = []
  for (let i = 0; i < n; i++) addrs.push(r.string(MAX_ADDR_BYTES))
  return { r, fail, record, secret, root, networkKey, addrs }
}

/**
 * Throws {@link InvalidInviteCodeError} unless the code's root statement and invitation are signed,
 * the invitation is for that org, and the secret belongs to the invitation key (checked by `signer`,
 * made from the secret). Whether the invitation's issuer may invite is the org state's call.
 */
export async function verifyInviteCode(
  crypto: HistoryCrypto,
  c: InviteCode,
  inviteSigner: DeviceSigner,
): Promise<void> {
  await verifyCode(
    crypto,
    'invite code',
    c.root,
    c.invitation,
    c.invitation.inviteKey,
    inviteSigner,
  )
}

/** {@link verifyInviteCode} for a device link code (`linkSigner` made from its secret). */
export async function verifyLinkCode(
  crypto: HistoryCrypto,
  c: LinkCode,
  linkSigner: DeviceSigner,
): Promise<void> {
  await verifyCode(crypto, 'device link code', c.root, c.link, c.link.linkKey, linkSigner)
}

async function verifyCode(
  crypto: HistoryCrypto,
  what: string,
  root: RootStatement,
  rec: Invitation | DeviceLink,
  key: Uint8Array,
  signer: DeviceSigner,
): Promise<void> {
  const fail = (why: string): Error => new InvalidInviteCodeError(`Invalid ${what}: ${why}`)
  if (!(await verifyRecordSig(crypto, root))) throw fail('root statement signature')
  if (!(await verifyRecordSig(crypto, rec)))
    throw fail(`${rec.kind === 'invite' ? 'invitation' : 'link'} signature`)
  if (!same(rec.org, orgIdBytes(crypto, root.rootKey))) throw fail('another org')
  if (!same(signer.publicKey, key)) throw fail('secret does not match')
}

const same = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i])

/** A peer's admission proof: its records, its device key and the signature binding its peer id. */
export interface AdmissionProof {
  peerId: string
  key: Uint8Array
  records: OrgRecord[]
  sig: Uint8Array
}

const ADMIT_DOMAIN = new TextEncoder().encode('parley/admit/1\0')

/** The bytes an admission proof's signature covers. */
export function admitMessage(org: Uint8Array, peerId: string): Uint8Array {
  const id = new TextEncoder().encode(peerId)
  const m = new Uint8Array(ADMIT_DOMAIN.length + org.length + id.length)
  m.set(ADMIT_DOMAIN)
  m.set(org, ADMIT_DOMAIN.length)
  m.set(id, ADMIT_DOMAIN.length + org.length)
  return m
}

/** Builds and signs our proof for `peerId` (records: root, our chain, revocations we know). */
export async function createProof(
  signer: DeviceSigner,
  org: Uint8Array,
  peerId: string,
  records: readonly OrgRecord[],
): Promise<Uint8Array> {
  const e = encoding.createEncoder()
  encoding.writeUint8(e, PROOF_VERSION)
  encoding.writeVarString(e, peerId)
  encoding.writeUint8Array(e, signer.publicKey)
  const picked = records.slice(0, MAX_PROOF_RECORDS)
  encoding.writeVarUint(e, picked.length)
  for (const r of picked) encoding.writeVarUint8Array(e, r.bytes)
  encoding.writeUint8Array(e, await signer.sign(admitMessage(org, peerId)))
  const bytes = encoding.toUint8Array(e)
  if (bytes.length > MAX_PROOF_BYTES) throw new RangeError('admission proof too large')
  return bytes
}

/** Parses untrusted proof bytes. Throws {@link MalformedProofError} and nothing else. */
export function decodeProof(bytes: Uint8Array): AdmissionProof {
  const fail = (why: string): Error => new MalformedProofError(`Malformed admission proof: ${why}`)
  if (!(bytes instanceof Uint8Array) || bytes.length > MAX_PROOF_BYTES) throw fail('size')
  const r = new ByteReader(bytes, fail)
  if (r.u8() !== PROOF_VERSION) throw fail('unknown version')
  const peerId = r.string(MAX_PEER_ID_BYTES)
  const key = r.copy(KEY_BYTES)
  const n = r.count(MAX_PROOF_RECORDS, 1)
  const records: OrgRecord[] = []
  for (let i = 0; i < n; i++) {
    const b = r.view(r.varUint(MAX_ORG_RECORD_BYTES))
    try {
      records.push(decodeOrgRecord(b))
    } catch (err) {
      throw fail((err as Error).message)
    }
  }
  const sig = r.copy(SIG_BYTES)
  r.end()
  return { peerId, key, records, sig }
}

/** Whether the proof's signature binds `peerId` for `org` (never throws). */
export function verifyProofSig(
  crypto: HistoryCrypto,
  org: Uint8Array,
  p: AdmissionProof,
): Promise<boolean> {
  return crypto.verify(p.key, p.sig, admitMessage(org, p.peerId))
}
