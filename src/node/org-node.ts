/**
 * The org of a Node peer's data directory: made by `parley init --org NAME` (or `serve --org`),
 * joined by `parley join CODE`, opened by every run of a peer on that directory.
 */
import { randomBytes } from 'node:crypto'
import type { DeviceSigner } from '../crdt/crypto.ts'
import { hexOf } from '../crdt/org-hex.ts'
import { Org } from '../core/org.ts'
import { createRootStatement, redeemInvite } from '../core/org-join.ts'
import { loadOrgSettings, saveOrgSettings } from '../core/org-settings.ts'
import type { HistoryStore } from '../core/store.ts'
import { createNodeSigner, nodeCrypto } from './crypto-node.ts'

/** The data directory already belongs to an org (init or join twice). */
export class OrgExistsError extends Error {
  static override readonly name = 'OrgExistsError'
  constructor(name: string) {
    super(`this data directory already belongs to the organisation "${name}"`)
    this.name = 'OrgExistsError'
  }
}

/** The user ID a Node peer's certificate carries. */
export const nodeUserId = (signer: DeviceSigner): string =>
  `node-${hexOf(signer.publicKey).slice(0, 8)}`

/** The org this directory belongs to, if any. */
export async function openOrg(store: HistoryStore, signer: DeviceSigner): Promise<Org | undefined> {
  const s = await loadOrgSettings(store)
  if (s === undefined) return undefined
  return Org.open(
    {
      crypto: nodeCrypto,
      root: s.root,
      networkKey: s.networkKey,
      signer,
      ...(s.rootSecret === undefined ? {} : { rootSigner: createNodeSigner(s.rootSecret) }),
    },
    s.records,
  )
}

/** Dial addresses an invite code gave this directory. */
export async function orgAddrs(store: HistoryStore): Promise<string[]> {
  return (await loadOrgSettings(store))?.addrs ?? []
}

/** A new org named `name` with its root key here; this peer gets a `peer` certificate. */
export async function createOrgIn(
  store: HistoryStore,
  signer: DeviceSigner,
  name: string,
  peerName: string,
): Promise<Org> {
  const have = await loadOrgSettings(store)
  if (have !== undefined) throw new OrgExistsError(have.root.name)
  const rootSecret = new Uint8Array(randomBytes(32))
  const rootSigner = createNodeSigner(rootSecret)
  const root = await createRootStatement(rootSigner, name)
  const networkKey = new Uint8Array(randomBytes(32))
  const org = await Org.open({ crypto: nodeCrypto, root, networkKey, signer, rootSigner })
  const cert = await org.issueCertificate({
    userId: nodeUserId(signer),
    name: peerName.slice(0, 64),
    key: signer.publicKey,
    role: 'peer',
  })
  await saveOrgSettings(store, { root, networkKey, rootSecret, records: [cert], addrs: [] })
  return org
}

/** Redeems an invite code for this directory's device key. */
export async function joinOrgIn(
  store: HistoryStore,
  signer: DeviceSigner,
  code: string,
  peerName: string,
): Promise<{ org: string; role: string; userId: string }> {
  const have = await loadOrgSettings(store)
  if (have !== undefined) throw new OrgExistsError(have.root.name)
  const userId = nodeUserId(signer)
  const r = await redeemInvite(nodeCrypto, code, { userId, name: peerName.slice(0, 64), signer })
  await saveOrgSettings(store, {
    root: r.root,
    networkKey: r.networkKey,
    records: [r.invitation, r.cert],
    addrs: r.addrs,
  })
  return { org: r.root.name, role: r.cert.role, userId }
}
