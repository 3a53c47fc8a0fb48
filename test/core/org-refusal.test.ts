/**
 * A refused peer is told why (issue #4): real libp2p peers over TCP on 127.0.0.1. The refusing
 * peer sends a reason code with its verdict (src/core/org-refusal.ts); the refused one shows it
 * through its OrgClient — or learns it from the org's own signed records when it was admitted
 * first and cut off once the earlier redemption came in.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { OrgClient } from '../../src/core/org-client.ts'
import { redeemInvite } from '../../src/core/org-join.ts'
import { REFUSAL_CODES } from '../../src/core/org-refusal.ts'
import { authorId } from '../../src/crdt/entry.ts'
import { nodeCrypto } from '../../src/node/crypto-node.ts'
import {
  OrgPeerSet,
  newNodeSigner,
  startOffice,
  tcpAddr,
  type OrgPeer,
} from '../helpers/org-peers.ts'

const set = new OrgPeerSet()
const offs: (() => void)[] = []
afterEach(async () => {
  for (const off of offs.splice(0)) off()
  await set.teardown()
})

const WAIT = { timeout: 15_000, interval: 50 }

function clientOf(p: OrgPeer): OrgClient {
  const c = new OrgClient(p.org, p.messenger, authorId(p.signer.publicKey))
  offs.push(c.watchAdmission())
  return c
}

describe('refusal reasons on real peers', () => {
  it('[OREF1] one invitation redeemed twice at the same moment: one member everywhere; the other is told "invitation already used"', async () => {
    const { a, b } = await startOffice(set, [], WAIT)
    const { code } = await b.org.createInvite()
    const now = Date.now()
    const [x, y] = await Promise.all(
      ['xena', 'yuri'].map(async (userId) => {
        const signer = newNodeSigner()
        const r = await redeemInvite(nodeCrypto, code, { userId, name: userId, signer }, now)
        return set.add({ signer, ...r, records: [r.invitation, r.cert] })
      }),
    )
    const clients = new Map([x!, y!].map((p) => [p, clientOf(p)]))
    await Promise.all([x!, y!].map((p) => p.net.dial(tcpAddr(a)).catch(() => undefined)))
    await vi.waitFor(() => {
      const members = [x!, y!].filter((p) => a.org.isMember(p.signer.publicKey))
      expect(members).toHaveLength(1)
    }, WAIT)
    const [winner, loser] = a.org.isMember(x!.signer.publicKey) ? [x!, y!] : [y!, x!]
    await vi.waitFor(() => expect(a.net.peers()).toContain(winner.net.peerId), WAIT)
    await vi.waitFor(() => expect(a.net.peers()).not.toContain(loser.net.peerId), WAIT)
    await vi.waitFor(
      () => expect(clients.get(loser)!.org().refused?.code).toBe('invite-used'),
      WAIT,
    )
    expect(clients.get(winner)!.org().refused).toBeUndefined()
    expect(a.org.refusalOf(loser.signer.publicKey, Date.now())?.code).toBe('invite-used')
  })

  it('[OREF2] a revoked member coming back is refused with "revoked", and its app says so', async () => {
    const { a, b, members } = await startOffice(set, ['carol'], WAIT)
    const c = members[0]!
    await b.org.revoke('carol')
    await vi.waitFor(() => expect(a.net.peers()).not.toContain(c.net.peerId), WAIT)
    await vi.waitFor(() => expect(c.net.peers()).not.toContain(a.net.peerId), WAIT)
    const heard = c.refusals.length
    await c.net.dial(tcpAddr(a)).catch(() => undefined)
    await vi.waitFor(
      () =>
        expect(c.refusals.slice(heard)).toContainEqual({
          peer: a.net.peerId,
          code: REFUSAL_CODES.revoked,
          reason: 'revoked (carol)',
        }),
      WAIT,
    )
    expect(a.net.peers()).not.toContain(c.net.peerId)
    expect(clientOf(c).org().refused?.code).toBe('revoked')
  })
})
