/**
 * The admission protocol (`/parley/admit/1.0.0`), one exchange per direction:
 *
 * ```
 * prover                                  verifier
 *   open stream ─────────────────────────▶  (libp2p handler)
 *   [len][proof ≤ 64 KiB], close write ──▶  read one frame (timeout)
 *                                           Admission.verify(prover's peer id, proof)
 *   ◀──────────────────────────── verdict   [1] admitted, [0] or [0][code][reason] refused;
 *                                           then close (verdict.ts)
 * ```
 * Each side proves itself on its own stream, so a connection carries two exchanges. Pure I/O:
 * what a verdict means for the connection is admission.ts's business.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { ADMIT_PROTOCOL, MAX_PROOF_BYTES } from './constants.ts'
import { InvalidFrameError } from './errors.ts'
import { readFrames, writeFrame } from './stream-io.ts'
import { MAX_VERDICT_BYTES, decodeVerdict, encodeVerdict, type Verdict } from './verdict.ts'

/**
 * Sends `proof` on a new stream of `conn`; resolves with the remote's verdict. Throws
 * `InvalidFrameError` (or `FrameTooLargeError`) when the answer is no verdict.
 */
export async function sendProof(
  conn: Connection,
  proof: Uint8Array,
  signal: AbortSignal,
): Promise<Verdict> {
  const stream = await conn.newStream(ADMIT_PROTOCOL, { signal, runOnLimitedConnection: true })
  try {
    await writeFrame(stream, proof, MAX_PROOF_BYTES, signal)
    await stream.close({ signal })
    let verdict: Uint8Array | undefined
    try {
      for await (const frame of readFrames(stream, { maxBytes: MAX_VERDICT_BYTES, signal }))
        verdict ??= frame
    } catch (err) {
      // a refusing peer closes the connection right after its verdict: the verdict stands
      if (verdict === undefined) throw err
    }
    if (verdict === undefined) throw new InvalidFrameError('No admission verdict')
    return decodeVerdict(verdict)
  } finally {
    if (stream.status === 'open') stream.abort(new Error('admission exchange over'))
  }
}

/**
 * Reads the one proof frame of an inbound admission stream. Throws `FrameTooLargeError` above
 * 64 KiB, `InvalidFrameError` on garbage or a second frame, `AbortError` when `signal` fires.
 */
export async function readProof(stream: Stream, signal: AbortSignal): Promise<Uint8Array> {
  let proof: Uint8Array | undefined
  for await (const frame of readFrames(stream, { maxBytes: MAX_PROOF_BYTES, signal })) {
    if (proof !== undefined) throw new InvalidFrameError('More than one proof frame')
    proof = frame
  }
  if (proof === undefined) throw new InvalidFrameError('No proof frame')
  return proof
}

/** Answers an inbound admission stream with the verdict and closes it. */
export async function sendVerdict(
  stream: Stream,
  verdict: Verdict,
  signal: AbortSignal,
): Promise<void> {
  if (stream.status !== 'open') return
  await writeFrame(stream, encodeVerdict(verdict), MAX_VERDICT_BYTES, signal)
  await stream.close({ signal })
}
