/**
 * Presence announcements signed by the device they announce: the signer refuses another device's
 * key, and a check never throws on bad input (a forged or malformed announcement is just false).
 */
import type { DeviceSigner, HistoryCrypto } from './crypto.ts'
import { compareBytes } from './entry.ts'
import { MalformedFrameError } from './errors.ts'
import { presenceMessage, type Presence } from './wire.ts'

/**
 * Signs a presence announcement of the signer's own device; resolves with the signature. Throws
 * {@link MalformedFrameError} if a field is out of bounds, a `RangeError` if `author` is another key.
 */
export async function signPresence(
  signer: DeviceSigner,
  body: Omit<Presence, 'sig'>,
): Promise<Uint8Array> {
  if (compareBytes(body.author, signer.publicKey) !== 0) {
    throw new RangeError('signPresence: author is not the signer')
  }
  return signer.sign(presenceMessage(body))
}

/** Whether `p` is well formed and signed by `p.author`. Never throws on bad input. */
export async function verifyPresence(crypto: HistoryCrypto, p: Presence): Promise<boolean> {
  let msg: Uint8Array
  try {
    msg = presenceMessage(p)
  } catch (err) {
    if (err instanceof MalformedFrameError) return false
    throw err
  }
  return crypto.verify(p.author, p.sig, msg)
}
