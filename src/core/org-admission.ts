/**
 * The org's {@link Admission} for the network layer (ORG-DESIGN "Network admission"): our proof is
 * our certificate chain, the revocations we know and a device signature binding our libp2p peer id;
 * a remote's proof is accepted if it binds the Noise-authenticated peer id to a key that chains to
 * our root and is neither revoked nor expired. The records a proof carries (its revocations first
 * of all) are learnt whatever the verdict, so a reconnecting peer hears of a revocation before it
 * accepts anything from the revoked member. A refusal throws `AdmissionRefusedError` with its
 * {@link REFUSAL_CODES} code, which the net sends to the refused peer (shown there, src/ui).
 */
import { createLogger } from '../net/logger.ts'
import type { Admission, PeerIdString } from '../net/index.ts'
import { AdmissionRefusedError } from '../net/errors.ts'
import { authorId, equalBytes } from '../crdt/entry.ts'
import { createProof, decodeProof, verifyProofSig } from '../crdt/org-code.ts'
import type { Org } from './org.ts'
import { REFUSAL_CODES, type OrgRefusal, type RefusalCode } from './org-refusal.ts'

const log = createLogger('parley:core:admission')

/** Revocations one proof carries (the newest), beside the chain. */
const PROOF_REVOCATIONS = 48

/** The net's {@link Admission}, answered by the org. */
export type OrgAdmission = Admission

export interface OrgAdmissionInit {
  org: Org
  /** Our own peer id (what our proof binds). */
  peerId: () => PeerIdString
  /** Called with each admitted peer and the device key it proved. */
  onAdmitted?: (peer: PeerIdString, key: Uint8Array) => void
}

export function createOrgAdmission(init: OrgAdmissionInit): OrgAdmission {
  const { org } = init
  return {
    proof: () =>
      createProof(org.signer, org.org, init.peerId(), [
        org.root,
        ...org.chainOf(org.signer.publicKey),
        ...org.revocations().slice(0, PROOF_REVOCATIONS),
      ]),
    async verify(peer, bytes) {
      let p
      try {
        p = decodeProof(bytes)
      } catch (err) {
        log.error('refused %s: %e', peer, err)
        throw refused('bad-proof', 'malformed admission proof')
      }
      const root = p.records.find((r) => r.kind === 'root')
      if (root !== undefined && !equalBytes(root.bytes, org.root.bytes)) {
        log.error('refused %s: a proof for another org (%s)', peer, root.name)
        throw refused('not-member', `not a member of ${org.name}`)
      }
      await org.add(p.records)
      const why: OrgRefusal | undefined =
        p.peerId !== peer
          ? { code: 'bad-proof', text: `the proof binds another peer id (${p.peerId})` }
          : !(await verifyProofSig(org.crypto, org.org, p))
            ? { code: 'bad-proof', text: 'bad proof signature' }
            : org.refusalOf(p.key, org.now())
      if (why !== undefined) {
        log.error('refused %s (%s): %s', peer, authorId(p.key), why.text)
        throw refused(why.code, why.text)
      }
      init.onAdmitted?.(peer, p.key)
      return true
    },
  }
}

/** The error that refuses a peer and tells it why (see `Admission.verify`). */
function refused(code: RefusalCode, text: string): AdmissionRefusedError {
  return new AdmissionRefusedError(REFUSAL_CODES[code], text)
}
