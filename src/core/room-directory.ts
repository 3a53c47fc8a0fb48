/**
 * Who may hold the keys of an encrypted room: the org's signed directory (src/crdt/org-state.ts),
 * never a claim inside the room. A key record counts only if its author held a valid certificate
 * when it wrote it, and a key is wrapped only for device keys whose certificate is valid; keys of
 * revoked or expired members drop out of the room's membership (src/core/room-keys.ts).
 *
 * A peer without an org (tests of the room protocol alone) has no directory: the room's records
 * decide on their own, as before.
 */
import type { Unsubscribe } from '../net/index.ts'
import { hexOf } from '../crdt/org-hex.ts'
import { memberAt, roleAt } from '../crdt/org-state.ts'
import type { Org } from './org.ts'

export interface RoomDirectory {
  /** Whether device key `key` holds a certificate valid (and its user unrevoked) at `wall` (ms). */
  validAt(key: Uint8Array, wall: number): boolean
  /**
   * Whether device key `key` belongs to an admin of the org at `wall` (ms): a valid certificate
   * then and the user's role then is admin (a later demotion does not undo what it did as one).
   */
  isAdminAt(key: Uint8Array, wall: number): boolean
  /** Whether `key` holds any certificate at all (a key the org never certified does not). */
  known(key: Uint8Array): boolean
  /** The user id `key` is certified for. */
  userOf(key: Uint8Array): string | undefined
  /** Every device key (valid now) of the user `key` belongs to, `key` included if valid. */
  devicesOf(key: Uint8Array): Uint8Array[]
  now(): number
  /**
   * The earliest time after `after` (ms) at which some device's validity ends by itself (its
   * certificate's `notAfter`, or a revocation dated ahead): nothing in the directory changes then,
   * so whoever must act on it (the key rotator) sets a timer. Undefined when none is due.
   */
  nextExpiry(after: number): number | undefined
  /** Called whenever the directory changed (a certificate, revocation or role arrived). */
  onChange(cb: () => void): Unsubscribe
}

/** A key was to be given a room key but holds no valid certificate of the org. */
export class NotOrgMemberError extends Error {
  static override readonly name = 'NotOrgMemberError'
  constructor(message = 'That key holds no valid certificate of this organisation') {
    super(message)
    this.name = 'NotOrgMemberError'
  }
}

/** The org's directory as encrypted rooms use it. */
export function orgDirectory(org: Org): RoomDirectory {
  return {
    validAt: (key, wall) => memberAt(org.view(), key, wall) !== undefined,
    isAdminAt: (key, wall) => roleAt(org.view(), key, wall) === 'admin',
    known: (key) => org.view().byKey.has(hexOf(key)),
    userOf: (key) => org.view().byKey.get(hexOf(key)),
    devicesOf(key) {
      const v = org.view()
      const m = v.members.get(v.byKey.get(hexOf(key)) ?? '')
      if (m === undefined) return []
      const now = org.now()
      return [...m.keys.values()].map((c) => c.key).filter((k) => memberAt(v, k, now) !== undefined)
    },
    now: () => org.now(),
    nextExpiry(after) {
      let next: number | undefined
      const consider = (t: number | undefined): void => {
        if (t !== undefined && t > after && (next === undefined || t < next)) next = t
      }
      for (const m of org.view().members.values()) {
        consider(m.revokedAt)
        for (const c of m.keys.values()) if (c.notAfter !== 0) consider(c.notAfter)
      }
      return next
    },
    onChange: (cb) => org.onChange(cb),
  }
}
