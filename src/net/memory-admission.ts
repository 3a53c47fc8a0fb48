/**
 * Admission between nets of the memory hub, with the libp2p net's semantics (admission.ts): each
 * side with an `Admission` verifies the other's proof when a link comes up; the link carries
 * nothing until both sides agree; a refused or silent peer is cut off and kept out for
 * `ADMISSION_BLOCK_MS` (or until `readmitAll` finds its last proof now passes). A verification
 * that runs out of time is no verdict: the link is cut, the peer not kept out.
 */
import { logger } from '@libp2p/logger'
import {
  ADMISSION_BLOCK_MS,
  ADMISSION_TIMEOUT_MS,
  MAX_BLOCKED_PEERS,
  MAX_PROOF_BYTES,
} from './constants.ts'
import type { Admission, PeerIdString } from './index.ts'
import { judge } from './judge.ts'
import { REFUSED, type Verdict as Outcome } from './verdict.ts'

const log = logger('parley:net:memory:admission')

interface Verdict {
  state: 'pending' | 'admitted'
  proof: Uint8Array | undefined
  ac: AbortController
}

/** What one hub net knows about the admission of the peers it is wired to. */
export class MemoryGate {
  readonly admission: Admission | undefined
  readonly #verdicts = new Map<PeerIdString, Verdict>()
  readonly #blocked = new Map<PeerIdString, { until: number; proof: Uint8Array | undefined }>()

  constructor(admission: Admission | undefined) {
    this.admission = admission
  }

  /** Whether we let `peer` talk to us (always, without admission). */
  accepts(peer: PeerIdString): boolean {
    return this.admission === undefined || this.#verdicts.get(peer)?.state === 'admitted'
  }

  /** Whether a verdict on `peer` is still to come. */
  pending(peer: PeerIdString): boolean {
    return this.#verdicts.get(peer)?.state === 'pending'
  }

  blocks(peer: PeerIdString): boolean {
    const entry = this.#blocked.get(peer)
    if (entry === undefined) return false
    if (entry.until > Date.now()) return true
    this.#blocked.delete(peer)
    return false
  }

  /**
   * Starts verifying `peer` if we have not yet (the link just came up). `proofOf` reads the peer's
   * proof (undefined: it has no admission, i.e. it sends nothing). `done` is told the verdict
   * (undefined: none in time).
   */
  begin(
    peer: PeerIdString,
    proofOf: () => Promise<Uint8Array | undefined>,
    done: (verdict: Outcome | undefined) => void,
  ): void {
    const admission = this.admission
    if (admission === undefined || this.#verdicts.has(peer)) return
    const verdict: Verdict = { state: 'pending', proof: undefined, ac: new AbortController() }
    this.#verdicts.set(peer, verdict)
    const signal = AbortSignal.any([verdict.ac.signal, AbortSignal.timeout(ADMISSION_TIMEOUT_MS)])
    const run = async (): Promise<Outcome | undefined> => {
      const proof = await proofOf()
      if (proof === undefined) throw new Error('sent no proof')
      if (proof.byteLength > MAX_PROOF_BYTES) throw new Error(`proof of ${proof.byteLength} bytes`)
      verdict.proof = proof.slice()
      return judge(admission, peer, verdict.proof, signal, log)
    }
    run()
      .catch((err: unknown) => {
        if (!verdict.ac.signal.aborted) log('admission of %s failed - %e', peer, err)
        return REFUSED
      })
      .then((v) => {
        // The link went away meanwhile (evicted, partitioned, stopped): the verdict is moot.
        if (this.#verdicts.get(peer) !== verdict || verdict.ac.signal.aborted) return
        if (v === undefined) {
          log('no verdict on %s in time', peer)
          this.#verdicts.delete(peer)
        } else if (v.admitted) verdict.state = 'admitted'
        else {
          log('refused %s', peer)
          this.#verdicts.delete(peer)
          this.block(peer, verdict.proof)
        }
        done(v)
      })
      .catch((err: unknown) => log.error('admission outcome for %s - %e', peer, err))
  }

  /** Forgets `peer`'s admission (link gone or evicted); a pending verification is abandoned. */
  forget(peer: PeerIdString): void {
    this.#verdicts.get(peer)?.ac.abort()
    this.#verdicts.delete(peer)
  }

  block(peer: PeerIdString, proof: Uint8Array | undefined): void {
    this.#blocked.delete(peer)
    this.#blocked.set(peer, { until: Date.now() + ADMISSION_BLOCK_MS, proof })
    for (const oldest of this.#blocked.keys()) {
      if (this.#blocked.size <= MAX_BLOCKED_PEERS) break
      this.#blocked.delete(oldest)
    }
  }

  /**
   * Re-verifies admitted peers' and blocked peers' last proofs; returns the admitted peers now
   * refused or not verified in time (the caller cuts them off; only the refused are blocked).
   * Blocked peers whose proof now passes are unblocked.
   */
  async recheck(): Promise<PeerIdString[]> {
    const admission = this.admission
    if (admission === undefined) return []
    const check = async (
      peer: PeerIdString,
      proof: Uint8Array | undefined,
    ): Promise<boolean | undefined> => {
      if (proof === undefined) return false
      const signal = AbortSignal.timeout(ADMISSION_TIMEOUT_MS)
      return (await judge(admission, peer, proof, signal, log))?.admitted
    }
    const admitted = [...this.#verdicts].filter(([, v]) => v.state === 'admitted')
    const refused: PeerIdString[] = []
    await Promise.all([
      ...admitted.map(async ([peer, v]) => {
        const ok = await check(peer, v.proof)
        if (ok === true || this.#verdicts.get(peer) !== v) return
        log('%s %s on re-verification', ok === false ? 'refused' : 'no verdict on', peer)
        this.forget(peer)
        if (ok === false) this.block(peer, v.proof)
        refused.push(peer)
      }),
      ...[...this.#blocked].map(async ([peer, entry]) => {
        if ((await check(peer, entry.proof)) === true && this.#blocked.get(peer) === entry)
          this.#blocked.delete(peer)
      }),
    ])
    return refused
  }
}
