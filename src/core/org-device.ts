/**
 * A second device of the same user, on any peer that keeps its history in a {@link HistoryStore}
 * (the browser's IndexedDB store): the first device shows a one-time device link code
 * (`Org.createDeviceLink`), the new device checks it ({@link checkLink}: what user it is for,
 * until when), makes its own key pair and stores its membership ({@link linkInto}: its own
 * certificate for the same user ID, signed with the link's key, with the issuing device's chain).
 * Every peer decides whether the link holds (src/crdt/org-state.ts).
 */
import type { DeviceSigner, HistoryCrypto } from '../crdt/crypto.ts'
import { createNobleSigner, generateDeviceKey, nobleCrypto } from '../crdt/crypto.ts'
import { decodeLinkCode } from '../crdt/org-code.ts'
import { orgIdOf } from '../crdt/org-records.ts'
import { redeemLink } from './org-join.ts'
import { loadOrgSettings, saveOrgSettings } from './org-settings.ts'
import type { HistoryStore } from './store.ts'

/** A device link code that cannot link this device; the message says why and what to do. */
export class LinkCodeError extends Error {
  static override readonly name = 'LinkCodeError'
  constructor(message: string) {
    super(message)
    this.name = 'LinkCodeError'
  }
}

/** What a valid device link code offers. */
export interface LinkSummary {
  orgName: string
  orgId: string
  userId: string
  /** The user's display name (from the issuing device's certificate). */
  name: string
  expires: number
}

const when = (t: number): string => new Date(t).toLocaleTimeString()

/**
 * Throws {@link LinkCodeError} unless `code` is a signed, unexpired device link code whose chain
 * shows its user (and, given `serving`, for the org of the peer that served the page).
 */
export async function checkLink(
  crypto: HistoryCrypto,
  code: string,
  opts: { serving?: { name: string; orgId: string } | undefined; now?: number } = {},
): Promise<LinkSummary> {
  const now = opts.now ?? Date.now()
  let link
  try {
    link = decodeLinkCode(code).link
    if (now > link.expires)
      throw new LinkCodeError(
        `This device link code expired at ${when(link.expires)}. Make a new one on your signed-in device.`,
      )
    // redeemed for a throwaway key: the same checks linking makes (signatures, expiry, chain)
    const r = await redeemLink(crypto, code, createNobleSigner(generateDeviceKey().secretKey), now)
    const orgId = orgIdOf(crypto, r.root.rootKey)
    if (opts.serving !== undefined && opts.serving.orgId !== orgId)
      throw new LinkCodeError(
        `This code is for “${r.root.name}”, but this server runs “${opts.serving.name}”.`,
      )
    return { orgName: r.root.name, orgId, userId: r.userId, name: r.name, expires: link.expires }
  } catch (err) {
    if ((err as Error).name !== 'InvalidInviteCodeError') throw err
    throw new LinkCodeError(
      'This is not a valid device link code. On your signed-in device choose “Link another device” and copy the whole code.',
    )
  }
}

/**
 * Links the device `signer` with `code` and stores its membership in `store`. Throws
 * {@link LinkCodeError} for a code that cannot be used, or when the store already belongs to an
 * org. Single use is every peer's call: a code used before makes a certificate nobody accepts.
 */
export async function linkInto(
  store: HistoryStore,
  crypto: HistoryCrypto,
  code: string,
  signer: DeviceSigner,
  now = Date.now(),
): Promise<{ userId: string; name: string }> {
  const have = await loadOrgSettings(store)
  if (have !== undefined)
    throw new LinkCodeError(`This device already belongs to “${have.root.name}”.`)
  await checkLink(crypto, code, { now })
  let r
  try {
    r = await redeemLink(crypto, code, signer, now)
  } catch (err) {
    if ((err as Error).name !== 'InvalidInviteCodeError') throw err
    throw new LinkCodeError((err as Error).message)
  }
  await saveOrgSettings(store, {
    root: r.root,
    networkKey: r.networkKey,
    records: r.records,
    addrs: r.addrs,
  })
  return { userId: r.userId, name: r.name }
}

/** {@link checkLink} in the web app (the sign-in screen's "I have a link code"). */
export const checkPageLink = (code: string): Promise<LinkSummary> => checkLink(nobleCrypto, code)
