/**
 * Which admission timeouts keep a peer out. A proof (or verdict) that does not arrive within
 * `ADMISSION_TIMEOUT_MS` is no evidence of a hostile peer: on a sick link an honest proof is late,
 * and blocking for it cut a browser off from the Node peer serving it for a whole minute
 * (docs/net.md, "Admission"). So a timeout only closes the connection, and the peer may come
 * straight back — except a stranger that keeps connecting to us without ever proving itself:
 * `ADMISSION_TIMEOUT_STRIKES` timeouts in a row and it is blocked like a refused peer, so a peer
 * spamming connections without proofs costs a Noise handshake per try, not an admission wait.
 * Never struck: a bootstrap peer (the Node peer serving a browser, the peers a Node is told to
 * keep: we dial them on purpose, with backoff) and a peer we admitted before (it has shown a valid
 * proof here; a peer we lose is redialled). Peers dialled because discovery found them are struck:
 * an advertised peer that never proves itself would otherwise be dialled again and again.
 */
import { ADMISSION_TIMEOUT_STRIKES, MAX_BLOCKED_PEERS } from './constants.ts'

export class AdmissionStrikes {
  /** Timeouts in a row of strangers. */
  readonly #strikes = new Map<string, number>()
  /** Peers admitted since we started (most recent last). */
  readonly #known = new Set<string>()

  /** `peer` was admitted: it is known, its timeouts are forgiven. */
  admitted(peer: string): void {
    this.#strikes.delete(peer)
    this.#known.delete(peer)
    this.#known.add(peer)
    trim(this.#known)
  }

  /**
   * `peer` gave no valid proof in time (`bootstrap`: it is one of our bootstrap peers). True when
   * this timeout strikes it out: block it (its count starts over).
   */
  late(peer: string, bootstrap: boolean): boolean {
    if (bootstrap || this.#known.has(peer)) return false
    const strikes = (this.#strikes.get(peer) ?? 0) + 1
    this.#strikes.delete(peer)
    if (strikes >= ADMISSION_TIMEOUT_STRIKES) return true
    this.#strikes.set(peer, strikes)
    trim(this.#strikes)
    return false
  }
}

/** Forgets the oldest entries beyond `MAX_BLOCKED_PEERS`: a flood of peer ids costs bounded memory. */
function trim(entries: Set<string> | Map<string, number>): void {
  for (const oldest of entries.keys()) {
    if (entries.size <= MAX_BLOCKED_PEERS) break
    entries.delete(oldest)
  }
}
