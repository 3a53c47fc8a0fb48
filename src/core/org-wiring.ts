/**
 * The pieces a peer of an org needs, made in the order a peer is built: the entry gate and the
 * admission before the messenger and the net exist, the `sys.org` binding once the messenger does.
 */
import type { PeerIdString } from '../net/index.ts'
import type { Messenger } from './messenger.ts'
import type { EntryGate } from './room-history.ts'
import type { Org } from './org.ts'
import { OrgRoom, orgGate } from './org-room.ts'
import { createOrgAdmission, type OrgAdmission } from './org-admission.ts'
import { orgDirectory } from './room-directory.ts'
import { cutSeqOf } from './revocation-cut.ts'

export interface OrgWiring {
  org: Org
  /** For `MessengerInit.gate`. */
  gate: EntryGate
  /** For the net's `admission`. */
  admission: OrgAdmission
  /** For the net's `networkKey`. */
  networkKey: Uint8Array
  /**
   * Binds the org to the messenger (its encrypted rooms take their members from the org's
   * directory) and loads `sys.org`: call before `messenger.start()`.
   */
  attach(messenger: Messenger): Promise<OrgRoom>
}

export function wireOrg(org: Org, peerId: () => PeerIdString): OrgWiring {
  let room: OrgRoom | undefined
  const early = new Map<PeerIdString, Uint8Array>()
  return {
    org,
    gate: orgGate(org),
    networkKey: org.networkKey,
    admission: createOrgAdmission({
      org,
      peerId,
      onAdmitted: (peer, key) =>
        room === undefined ? early.set(peer, key) : room.admitted(peer, key),
    }),
    async attach(messenger) {
      messenger.encrypted.useDirectory(orgDirectory(org))
      org.useHeads((keys) => messenger.heldHeads(keys))
      messenger.useCuts((r, author) => cutSeqOf(org.view(), r, author))
      room = new OrgRoom(messenger, org)
      for (const [peer, key] of early) room.admitted(peer, key)
      early.clear()
      await room.start()
      return room
    },
  }
}
