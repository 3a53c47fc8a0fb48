/**
 * One call of `Admission.verify`, as both nets make it: bounded by a signal (a verifier that
 * ignores its signal still gets no longer), and turned into a {@link Verdict} — a throw refuses,
 * an `AdmissionRefusedError` with the code and reason it carries. No verdict when the signal fires
 * first: a verification that ran out of time (a busy verifier, a sick link) refuses nobody.
 */
import type { Logger } from '@libp2p/interface'
import type { Admission, PeerIdString } from './index.ts'
import { ADMITTED, REFUSED, boundedReason, type Verdict } from './verdict.ts'
import { raceSignal } from './race-signal.ts'

/** The verdict of `admission` on `peer`'s `proof`, undefined if `signal` fired first; never throws. */
export async function judge(
  admission: Admission,
  peer: PeerIdString,
  proof: Uint8Array,
  signal: AbortSignal,
  log: Logger,
): Promise<Verdict | undefined> {
  try {
    return (await raceSignal(
      admission.verify(peer, proof, { signal }),
      signal,
      // a verifier that ignores its signal
      () => new Error('admission timed out or was abandoned'),
    ))
      ? ADMITTED
      : REFUSED
  } catch (err) {
    if (err instanceof Error && err.name === 'AdmissionRefusedError') {
      const { code, reason } = err as Error & { code: unknown; reason: unknown }
      const valid = typeof code === 'number' && Number.isInteger(code) && code >= 0 && code < 256
      return {
        admitted: false,
        code: valid ? code : 0,
        reason: typeof reason === 'string' ? boundedReason(reason) : '',
      }
    }
    if (signal.aborted) return undefined
    log('verifying the proof of %s failed - %e', peer, err)
    return REFUSED
  }
}
