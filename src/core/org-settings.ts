/**
 * An org as a peer keeps it in its store's settings: the root statement, the network key, the
 * records that make this device a member (its own chain: `sys.org` holds everyone's), the
 * addresses an invite code named, and — on the Node peer that created the org — the root key.
 */
import { decodeOrgRecord, fromBase64Url, toBase64Url } from '../crdt/org-records.ts'
import type { OrgRecord, RootStatement } from '../crdt/org-records.ts'
import type { HistoryStore } from './store.ts'

export interface OrgSettings {
  root: RootStatement
  networkKey: Uint8Array
  /** The root key's secret seed, only on the peer that created the org. */
  rootSecret?: Uint8Array
  records: OrgRecord[]
  addrs: string[]
}

const KEY = 'org'

interface Stored {
  root: string
  networkKey: string
  rootSecret?: string
  records: string[]
  addrs: string[]
}

/** Throws if the setting is there but unreadable (a damaged data directory is not a fresh one). */
export async function loadOrgSettings(store: HistoryStore): Promise<OrgSettings | undefined> {
  const raw = await store.getSetting(KEY)
  if (raw === undefined) return undefined
  const s = JSON.parse(new TextDecoder().decode(raw)) as Stored
  const bytes = (t: string): Uint8Array => {
    const b = fromBase64Url(t)
    if (b === undefined) throw new Error('damaged org setting')
    return b
  }
  const root = decodeOrgRecord(bytes(s.root))
  if (root.kind !== 'root') throw new Error('damaged org setting')
  return {
    root,
    networkKey: bytes(s.networkKey),
    ...(s.rootSecret === undefined ? {} : { rootSecret: bytes(s.rootSecret) }),
    records: s.records.map((r) => decodeOrgRecord(bytes(r))),
    addrs: s.addrs,
  }
}

export async function saveOrgSettings(store: HistoryStore, s: OrgSettings): Promise<void> {
  const stored: Stored = {
    root: toBase64Url(s.root.bytes),
    networkKey: toBase64Url(s.networkKey),
    ...(s.rootSecret === undefined ? {} : { rootSecret: toBase64Url(s.rootSecret) }),
    records: s.records.map((r) => toBase64Url(r.bytes)),
    addrs: s.addrs,
  }
  await store.putSetting(KEY, new TextEncoder().encode(JSON.stringify(stored)))
}
