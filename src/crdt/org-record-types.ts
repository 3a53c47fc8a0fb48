/**
 * The organisation's signed records as values — root statement, certificate, invitation,
 * revocation, role change, device link — and their limits; their bytes are org-records.ts's job.
 */
import type { RevocationCut } from './org-cut.ts'

export const ORG_VERSION = 1
/** Largest encoded record. */
export const MAX_ORG_RECORD_BYTES = 640
/** Longest org name, in UTF-8 bytes. */
export const MAX_ORG_NAME_BYTES = 128
export const INVITE_ID_BYTES = 16
/** Longest life of a device link (issued → expires). */
export const MAX_LINK_MS = 10 * 60_000

export type Role = 'member' | 'admin' | 'peer'

interface Signed {
  /** The whole encoding (signature included). */
  bytes: Uint8Array
  /** The key whose signature the record carries. */
  signer: Uint8Array
  sig: Uint8Array
}
export interface RootStatement extends Signed {
  kind: 'root'
  rootKey: Uint8Array
  name: string
  created: number
}
export interface Certificate extends Signed {
  kind: 'cert'
  org: Uint8Array
  userId: string
  name: string
  key: Uint8Array
  role: Role
  notBefore: number
  /** 0: does not expire. */
  notAfter: number
  issuer: Uint8Array
}
export interface Invitation extends Signed {
  kind: 'invite'
  org: Uint8Array
  inviteId: Uint8Array
  role: Role
  issued: number
  expires: number
  inviteKey: Uint8Array
  issuer: Uint8Array
}
export interface Revocation extends Signed {
  kind: 'revoke'
  org: Uint8Array
  userId: string
  at: number
  issuer: Uint8Array
  /** The signature of its cut record (src/crdt/org-cut.ts); absent in a kind 4 revocation. */
  cut?: Uint8Array
}
export interface RoleChange extends Signed {
  kind: 'role'
  org: Uint8Array
  userId: string
  role: Role
  at: number
  issuer: Uint8Array
}
export interface DeviceLink extends Signed {
  kind: 'link'
  org: Uint8Array
  userId: string
  issued: number
  expires: number
  linkKey: Uint8Array
  issuer: Uint8Array
}
export type OrgRecord =
  RootStatement | Certificate | Invitation | Revocation | RoleChange | DeviceLink | RevocationCut

/** A record's fields, before signing. */
export type Unsigned<R extends OrgRecord> = Omit<R, 'bytes' | 'signer' | 'sig'>
export type UnsignedRecord =
  | Unsigned<RootStatement>
  | Unsigned<Certificate>
  | Unsigned<Invitation>
  | Unsigned<Revocation>
  | Unsigned<RoleChange>
  | Unsigned<DeviceLink>
  | Unsigned<RevocationCut>
