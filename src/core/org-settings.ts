/**
 * An org as a peer keeps it in its store's settings: the root statement, the network key, the
 * records that make this device a member (its own chain: `sys.org` holds everyone's), the
 * addresses an invite code named, and — on the Node peer that created the org — the root key.
 */
import { decodeOrgRecord } from '../crdt/org-records.ts'
import { fromBase64Url, toBase64Url } from '../crdt/base64url.ts'
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

/** The setting that holds them. */
export const ORG_SETTING = 'org'
const KEY = ORG_SETTING

interface Stored {
  root: string
  networkKey: string
  rootSecret?: string
  records: string[]
  addrs: string[]
}

/**
 * The org setting is there but unreadable: not JSON, fields missing or of the wrong type, records
 * that do not decode. A damaged data directory is not a fresh one: nothing is joined or created
 * over it.
 */
export class DamagedSettingError extends Error {
  static override name = 'DamagedSettingError'
  constructor(message = 'Damaged org setting', options?: ErrorOptions) {
    super(message, options)
    this.name = 'DamagedSettingError'
  }
}

const isString = (v: unknown): v is string => typeof v === 'string'
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString)

/** The stored setting's fields, or a {@link DamagedSettingError}. */
function readStored(raw: Uint8Array): Stored {
  let v: unknown
  try {
    v = JSON.parse(new TextDecoder().decode(raw))
  } catch (err) {
    throw new DamagedSettingError('Damaged org setting: not JSON', { cause: err })
  }
  const s = (typeof v === 'object' && v !== null ? v : {}) as Partial<Record<keyof Stored, unknown>>
  const ok =
    isString(s.root) &&
    isString(s.networkKey) &&
    (s.rootSecret === undefined || isString(s.rootSecret)) &&
    isStrings(s.records) &&
    isStrings(s.addrs)
  if (!ok) throw new DamagedSettingError('Damaged org setting: fields')
  return s as Stored
}

/** Throws {@link DamagedSettingError} if the setting is there but unreadable. */
export async function loadOrgSettings(store: HistoryStore): Promise<OrgSettings | undefined> {
  const raw = await store.getSetting(KEY)
  if (raw === undefined) return undefined
  const s = readStored(raw)
  const bytes = (t: string): Uint8Array => {
    const b = fromBase64Url(t)
    if (b === undefined) throw new DamagedSettingError('Damaged org setting: not base64url')
    return b
  }
  const record = (t: string): OrgRecord => {
    try {
      return decodeOrgRecord(bytes(t))
    } catch (err) {
      if (err instanceof DamagedSettingError) throw err
      throw new DamagedSettingError('Damaged org setting: a record does not decode', { cause: err })
    }
  }
  const root = record(s.root)
  if (root.kind !== 'root') throw new DamagedSettingError('Damaged org setting: root')
  return {
    root,
    networkKey: bytes(s.networkKey),
    ...(s.rootSecret === undefined ? {} : { rootSecret: bytes(s.rootSecret) }),
    records: s.records.map(record),
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
