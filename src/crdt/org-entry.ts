/**
 * The org records an entry of the `sys.org` room carries, read from its Yjs update without
 * applying it: the ingest check needs them to admit an author whose own certificate arrives in
 * that very entry (a newcomer's redemption). Bounded and never throws: anything unexpected is no
 * records (the entry is then judged like any other, and validated in full before it is applied).
 */
import { postedIn } from './posted.ts'
import { MAX_CUT_RECORD_BYTES, decodeOrgRecord, type OrgRecord } from './org-records.ts'
import { fromBase64Url } from './base64url.ts'

/** The reserved room whose messages are the org's signed records. */
export const ORG_ROOM = 'sys.org'
/** Prefix of a record's message text in {@link ORG_ROOM}. */
export const ORG_TEXT_PREFIX = 'org1:'
/** Longest record text: a revocation's cut (the largest record) in base64url, and the prefix. */
const MAX_RECORD_TEXT = ORG_TEXT_PREFIX.length + Math.ceil((MAX_CUT_RECORD_BYTES * 4) / 3)
/** Largest `sys.org` update read for records. */
const MAX_ORG_UPDATE_BYTES = 256 * 1024

/** The message text of a record. */
export const recordText = (r: OrgRecord): string => ORG_TEXT_PREFIX + toText(r.bytes)

const toText = (b: Uint8Array): string => {
  let bin = ''
  for (const x of b) bin += String.fromCharCode(x)
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** The record in a message text, or undefined (never throws). */
export function recordOfText(text: string): OrgRecord | undefined {
  if (!text.startsWith(ORG_TEXT_PREFIX) || text.length > MAX_RECORD_TEXT) return undefined
  const bytes = fromBase64Url(text.slice(ORG_TEXT_PREFIX.length))
  if (bytes === undefined) return undefined
  try {
    return decodeOrgRecord(bytes)
  } catch {
    // a malformed record is no record: the org state only counts what decodes and verifies
    return undefined
  }
}

/** Records posted by `update` (message texts in the `messages` map), signatures not yet checked. */
export function recordsInUpdate(update: Uint8Array): OrgRecord[] {
  if (update.length > MAX_ORG_UPDATE_BYTES) return []
  const out: OrgRecord[] = []
  for (const m of postedIn(update)) {
    const r = recordOfText(m.text)
    if (r !== undefined) out.push(r)
  }
  return out
}
