/**
 * Organisation surfaces: org records (certificates, invitations, revocations, …) from `sys.org`,
 * proofs and codes; invite and device link codes typed or pasted by a user (or opened as a link);
 * admission proofs every peer shows on connect; the org setting read back from disk.
 */
import { loadOrgSettings, saveOrgSettings } from '../../../src/core/org-settings.ts'
import type { HistoryStore } from '../../../src/core/store.ts'
import { equalBytes } from '../../../src/crdt/entry.ts'
import {
  createProof,
  decodeInviteCode,
  decodeLinkCode,
  decodeProof,
  encodeInviteCode,
  encodeLinkCode,
} from '../../../src/crdt/org-code.ts'
import {
  decodeOrgRecord,
  encodeUnsigned,
  type DeviceLink,
  type Invitation,
  type RootStatement,
} from '../../../src/crdt/org-records.ts'
import { fromBase64Url, toBase64Url } from '../../../src/crdt/base64url.ts'
import type { Prng } from '../../helpers/prng.ts'
import { mutate } from '../mutate.ts'
import { InvariantError, type Surface } from '../engine.ts'
import type { World } from '../fixtures.ts'

const utf8 = new TextEncoder()
const text = new TextDecoder()

export function orgRecordSurface(w: World): Surface {
  return {
    name: 'org-record',
    description:
      'decodeOrgRecord (src/crdt/org-records.ts): root statements, certificates, invitations, revocations, role changes and device links from sys.org, codes and proofs; round trip must be exact',
    allowed: ['MalformedOrgRecordError'],
    seeds: w.org.records.map((r) => r.bytes),
    run(input) {
      const r = decodeOrgRecord(input)
      const again = new Uint8Array([...encodeUnsigned(r), ...r.sig])
      if (!equalBytes(again, input)) throw new InvariantError('re-encodes differently')
      return r.kind
    },
  }
}

/** A code surface: inputs are the code's text (UTF-8); the generator mutates the decoded bytes. */
function codeSurface(
  name: string,
  description: string,
  codes: string[],
  anchor: string,
  roundTrip: (code: string) => string,
): Surface {
  const binary = codes.map((c) => fromBase64Url(c)!)
  return {
    name,
    description,
    allowed: ['InvalidInviteCodeError'],
    seeds: [
      ...codes.map((c) => utf8.encode(c)),
      ...codes.map((c) => utf8.encode(`  https://parley.example/#${anchor}=${c}\n`)),
    ],
    generate(rand: Prng) {
      const b = mutate(rand, rand.pick(binary), binary)
      return utf8.encode(toBase64Url(b))
    },
    run(input) {
      const code = text.decode(input)
      const out = roundTrip(code)
      const bare = code.trim().replace(new RegExp(`^.*#${anchor}=`), '')
      if (out !== bare) throw new InvariantError('decoded, but re-encodes differently')
      return 'decoded'
    },
  }
}

export function inviteCodeSurface(w: World): Surface {
  const code = encodeInviteCode({
    invitation: w.org.invitation as Invitation,
    inviteSecret: w.org.inviteSecret,
    root: w.org.records[0] as RootStatement,
    networkKey: w.org.networkKey,
    addrs: ['/ip4/192.168.1.20/tcp/4001/p2p/12D3KooWFuzz', '/dns4/parley.local/tcp/443/wss'],
  })
  return codeSurface(
    'invite-code',
    'decodeInviteCode (src/crdt/org-code.ts): invite codes pasted, typed or opened as #invite= links',
    [code],
    'invite',
    (c) => encodeInviteCode(decodeInviteCode(c)),
  )
}

export function linkCodeSurface(w: World): Surface {
  const code = encodeLinkCode({
    link: w.org.link as DeviceLink,
    linkSecret: w.org.linkSecret,
    root: w.org.records[0] as RootStatement,
    networkKey: w.org.networkKey,
    addrs: ['/ip4/10.0.0.2/tcp/4001'],
    chain: w.org.chain,
  })
  return codeSurface(
    'link-code',
    'decodeLinkCode (src/crdt/org-code.ts): device link codes typed, pasted or opened as #link= links',
    [code],
    'link',
    (c) => encodeLinkCode(decodeLinkCode(c)),
  )
}

export async function proofSurface(w: World): Promise<Surface> {
  const org = new Uint8Array(32).fill(3)
  const seeds = [
    await createProof(w.alice.signer, org, '12D3KooWFuzzPeer', w.org.chain),
    await createProof(w.bob.signer, org, 'p', w.org.records),
    await createProof(w.bob.signer, org, '', []),
  ]
  return {
    name: 'admission-proof',
    description:
      'decodeProof (src/crdt/org-code.ts): the proof every connecting peer sends on the admission protocol',
    allowed: ['MalformedProofError'],
    seeds,
    run(input) {
      const p = decodeProof(input)
      for (const r of p.records) decodeOrgRecord(r.bytes) // what came out decodes again
      return 'decoded'
    },
  }
}

/** The org setting of a Node peer's or browser's store (JSON, read back from disk). */
export async function orgSettingsSurface(w: World): Promise<Surface> {
  const saved: Uint8Array[] = []
  const writer = {
    putSetting: (_k: string, v: Uint8Array) => {
      saved.push(v)
      return Promise.resolve()
    },
  } as unknown as HistoryStore
  const root = w.org.records[0] as RootStatement
  await saveOrgSettings(writer, {
    root,
    networkKey: w.org.networkKey,
    records: w.org.chain,
    addrs: ['/ip4/10.0.0.2/tcp/4001'],
  })
  await saveOrgSettings(writer, {
    root,
    networkKey: w.org.networkKey,
    rootSecret: new Uint8Array(32).fill(5),
    records: w.org.records,
    addrs: [],
  })
  let current: Uint8Array = new Uint8Array()
  const store = { getSetting: () => Promise.resolve(current) } as unknown as HistoryStore
  return {
    name: 'org-settings',
    description:
      "loadOrgSettings (src/core/org-settings.ts): the org setting (JSON with base64url records) read from the peer's store",
    allowed: ['DamagedSettingError'],
    seeds: saved,
    async run(input) {
      current = input
      const s = await loadOrgSettings(store)
      return s === undefined ? 'none' : 'loaded'
    },
  }
}
