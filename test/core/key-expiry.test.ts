/**
 * A member whose certificate runs out is rotated out of its encrypted rooms when it expires, with
 * nobody writing (src/core/key-rotation.ts arms a timer at the directory's next expiry): real peers
 * over TCP on 127.0.0.1. The certificate is short-lived (seconds); the test awaits the rotation's
 * key record, it does not sleep.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { authorId } from '../../src/crdt/entry.ts'
import { idOf, keyRecords } from '../helpers/org-history.ts'
import {
  OrgPeerSet,
  connectOrg,
  newNodeSigner,
  startOffice,
  textsOf,
  type OrgPeer,
} from '../helpers/org-peers.ts'

const set = new OrgPeerSet()
afterEach(() => set.teardown())

const WAIT = { timeout: 20_000, interval: 50 }
const VALIDITY_MS = 10_000

/** The recipients of every key record `p` stores in `room` that hands out a key, in store order. */
async function recipientSets(p: OrgPeer, room: string): Promise<string[][]> {
  return (await keyRecords(p, room))
    .filter((r) => r.record.keyed !== undefined)
    .map((r) => r.record.recipients.map(authorId).sort())
}

describe('certificate expiry and room keys', () => {
  it('[KEXP1] a member whose certificate expires is rotated out of a private room at expiry, with no write', async () => {
    const { o, a, b, members } = await startOffice(set, ['carol'], WAIT)
    const c = members[0]!
    // tina holds a certificate from alice that ends VALIDITY_MS from now
    const tSigner = newNodeSigner()
    const notAfter = Date.now() + VALIDITY_MS
    const cert = await b.org.issueCertificate({
      userId: 'tina',
      name: 'Tina',
      key: tSigner.publicKey,
      role: 'member',
      notAfter,
    })
    const t = await set.add({
      ...o,
      signer: tSigner,
      records: [...b.org.chainOf(b.signer.publicKey), cert],
    })
    await connectOrg(t, a)
    await vi.waitFor(() => {
      for (const p of [a, b, c]) expect(p.org.isMember(tSigner.publicKey)).toBe(true)
    }, WAIT)
    const room = await b.messenger.encrypted.createPrivateRoom({
      name: 'Short stay',
      members: [idOf(c), idOf(t)],
    })
    await b.messenger.post(room, 'hello all three')
    for (const p of [c, t]) await p.messenger.join(room)
    for (const p of [c, t])
      await vi.waitFor(
        async () => expect(await textsOf(p, room)).toEqual(['hello all three']),
        WAIT,
      )
    // still valid once the room is set up (else the test proves nothing)
    expect(Date.now()).toBeLessThan(notAfter)
    expect(await b.messenger.encrypted.members(room)).toEqual([idOf(b), idOf(c), idOf(t)].sort())
    const posts = async (): Promise<number> => (await textsOf(b, room)).length

    // nobody writes: at expiry a remaining member starts an epoch for b and c only
    await vi.waitFor(
      async () => expect(await recipientSets(c, room)).toContainEqual([idOf(b), idOf(c)].sort()),
      { timeout: VALIDITY_MS + 20_000, interval: 100 },
    )
    expect(Date.now()).toBeGreaterThanOrEqual(notAfter)
    expect(await posts()).toBe(1)
    expect(await c.messenger.encrypted.members(room)).toEqual([idOf(b), idOf(c)].sort())
  })
})
