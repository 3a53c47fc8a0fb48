/**
 * The valid material the fuzz surfaces mutate: a small room history (entries, signed heads, every
 * sync frame), an organisation (every record kind, an invite code, a link code, an admission
 * proof), an encrypted room's key record and sealed update, a file's manifest and file frames.
 * Built with real signatures and a seeded source of randomness, so the seeds, and with them every
 * fuzz input, are the same on every run.
 */
import { createNobleSigner, type DeviceSigner } from '../../src/crdt/crypto.ts'
import {
  encodeEntry,
  signHead,
  ZERO_HASH,
  type Entry,
  type SignedHead,
} from '../../src/crdt/entry.ts'
import { PeriodDoc } from '../../src/crdt/period-doc.ts'
import { messageId } from '../../src/crdt/schema.ts'
import { createIdentity } from '../../src/core/identity.ts'
import { nodeCrypto } from '../../src/node/crypto-node.ts'
import { seededPrng } from '../helpers/prng.ts'
import { DAY as PERIOD, at } from '../crdt/period-fixtures.ts'
import {
  DAY,
  T0,
  certify,
  deviceLink,
  invite,
  makeOrg,
  redeemDeviceLink,
  revoke,
  setRole,
} from '../helpers/org.ts'
import type { OrgRecord } from '../../src/crdt/org-records.ts'
import type { UpdateContext } from '../../src/crdt/validate.ts'

export const ROOM = 'general'
export { PERIOD }

/** An author with a real key: signer, and its update context per entry. */
export interface FuzzAuthor {
  signer: DeviceSigner
  ctx(seq: number, period?: number, room?: string): UpdateContext
}

/** Everything the surfaces start from. */
export interface World {
  alice: FuzzAuthor
  bob: FuzzAuthor
  /** The period document holding alice's and bob's entries, as a snapshot. */
  snapshot: Uint8Array
  /** Updates valid on top of {@link World.snapshot}, with their contexts. */
  next: { ctx: UpdateContext; update: Uint8Array }[]
  /** The updates the snapshot was built from, in order (alice 1–3, bob 1). */
  past: { ctx: UpdateContext; update: Uint8Array }[]
  /** Alice's entries (seq 1..n) and her signed head of the last one. */
  entries: Uint8Array[]
  head: SignedHead
  org: {
    records: OrgRecord[]
    /** Alice's chain: root, her certificate. */
    chain: OrgRecord[]
    networkKey: Uint8Array
    inviteSecret: Uint8Array
    linkSecret: Uint8Array
    invitation: OrgRecord
    link: OrgRecord
  }
}

/** Runs `fn` with `crypto.getRandomValues` drawing from a seeded PRNG (deterministic fixtures). */
export async function withSeededRandom<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const rand = seededPrng(seed)
  const c = globalThis.crypto
  const original = Object.getOwnPropertyDescriptor(c, 'getRandomValues')
  Object.defineProperty(c, 'getRandomValues', {
    configurable: true,
    value: <A extends ArrayBufferView | null>(array: A): A => {
      if (array !== null) {
        const u8 = new Uint8Array(array.buffer, array.byteOffset, array.byteLength)
        for (let i = 0; i < u8.length; i++) u8[i] = rand.int(256)
      }
      return array
    },
  })
  try {
    return await fn()
  } finally {
    if (original === undefined) Reflect.deleteProperty(c, 'getRandomValues')
    else Object.defineProperty(c, 'getRandomValues', original)
  }
}

function fuzzAuthor(seedByte: number): FuzzAuthor {
  const signer = createNobleSigner(new Uint8Array(32).fill(seedByte))
  const id = createIdentity(signer, nodeCrypto)
  return {
    signer,
    ctx: (seq, period = PERIOD, room = ROOM) => id.ctxFor(signer.publicKey, seq, room, period),
  }
}

/** Alice's chain of entries carrying `updates`, and her signed head. */
async function chainOf(
  a: FuzzAuthor,
  updates: Uint8Array[],
): Promise<{ entries: Uint8Array[]; head: SignedHead }> {
  const entries: Uint8Array[] = []
  let prev = ZERO_HASH
  for (const [i, update] of updates.entries()) {
    const entry: Entry = {
      room: ROOM,
      author: a.signer.publicKey,
      seq: i + 1,
      prev,
      hlc: at((i + 1) * 1000),
      period: PERIOD,
      update,
    }
    const bytes = encodeEntry(entry)
    entries.push(bytes)
    prev = nodeCrypto.sha256(bytes)
  }
  return { entries, head: await signHead(a.signer, ROOM, entries.length, prev) }
}

async function buildOrg(alice: FuzzAuthor, bob: FuzzAuthor): Promise<World['org']> {
  const o = await makeOrg('Fuzz Org')
  const cert = await certify(o, o.rootSigner, alice.signer.publicKey, 'alice', { role: 'admin' })
  const { invitation, inviteSigner } = await invite(o, o.rootSigner)
  const redeemed = await certify(o, inviteSigner, bob.signer.publicKey, 'bob')
  const l = await deviceLink(o, alice.signer, 'alice')
  const device = await redeemDeviceLink(o, l, new Uint8Array(32).fill(9))
  const records: OrgRecord[] = [
    o.root,
    cert,
    invitation,
    redeemed,
    l.link,
    device,
    await revoke(o, o.rootSigner, 'bob', T0 + DAY),
    await setRole(o, o.rootSigner, 'bob', 'admin', T0 + DAY),
  ]
  const secret = (s: DeviceSigner): Uint8Array => new Uint8Array(32).fill(s.publicKey[0]!)
  return {
    records,
    chain: [o.root, cert],
    networkKey: new Uint8Array(32).fill(7),
    inviteSecret: secret(inviteSigner),
    linkSecret: secret(l.linkSigner),
    invitation,
    link: l.link,
  }
}

/** Builds the {@link World} (deterministic). */
export function buildWorld(): Promise<World> {
  return withSeededRandom(6, async () => {
    const alice = fuzzAuthor(1)
    const bob = fuzzAuthor(2)
    const d = new PeriodDoc(ROOM, PERIOD)
    const aliceId = createIdentity(alice.signer, nodeCrypto).authorId
    const m1 = messageId(aliceId, 1)
    const past = [
      { ctx: alice.ctx(1), update: d.post(alice.ctx(1), 'hello', at(1000)).update },
      { ctx: alice.ctx(2), update: d.post(alice.ctx(2), 'two 🦆', at(2000)).update },
      { ctx: alice.ctx(3), update: d.edit(alice.ctx(3), m1, 'hello!', at(3000)).update },
      { ctx: bob.ctx(1), update: d.post(bob.ctx(1), 'yo', at(4000)).update },
    ]
    const snapshot = d.encodeSnapshot()
    d.destroy()
    const nextOf = (ctx: UpdateContext, fn: (pd: PeriodDoc) => Uint8Array) => {
      const pd = PeriodDoc.fromSnapshot(ROOM, PERIOD, snapshot)
      const update = fn(pd)
      pd.destroy()
      return { ctx, update }
    }
    const next = [
      nextOf(alice.ctx(4), (pd) => pd.post(alice.ctx(4), 'three', at(5000)).update),
      nextOf(alice.ctx(4), (pd) => pd.edit(alice.ctx(4), m1, 'again', at(5000)).update),
      nextOf(alice.ctx(4), (pd) => pd.remove(alice.ctx(4), messageId(aliceId, 2), at(5000)).update),
      nextOf(bob.ctx(2), (pd) => pd.post(bob.ctx(2), 'b2', at(6000)).update),
    ]
    const { entries, head } = await chainOf(
      alice,
      past
        .filter((p) => p.ctx.seq <= 3 && p.ctx.authorKey === alice.signer.publicKey)
        .map((p) => p.update),
    )
    return { alice, bob, snapshot, next, past, entries, head, org: await buildOrg(alice, bob) }
  })
}
