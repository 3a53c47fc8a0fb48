/**
 * Revocation cuts on real org peers (libp2p over TCP on 127.0.0.1, SQLite): a revoked member's
 * entries are judged by their place in its chain, not by the clock it claims (src/core/revocation-cut.ts).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClock, type HybridClock } from '../../src/crdt/hlc.ts'
import type { EntryRefusal } from '../../src/core/org.ts'
import {
  OrgPeerSet,
  connectOrg,
  joinWith,
  startOffice,
  textsOf,
  type OrgPeer,
} from '../helpers/org-peers.ts'

const set = new OrgPeerSet()
afterEach(() => set.teardown())

const signal = (): AbortSignal => AbortSignal.timeout(10_000)
const WAIT = { timeout: 15_000, interval: 50 }

/** A clock that runs normally until told to stamp everything at one moment (back-dating). */
function backdatingClock(): { clock: HybridClock; backdate(wall: number): void } {
  const real = createClock()
  let wall: number | undefined
  let count = 0
  return {
    clock: {
      now: () => (wall === undefined ? real.now() : { wall, count: count++ }),
      observe: (t) => real.observe(t),
    },
    backdate(w) {
      wall = w
    },
  }
}

/** Every entry `p` refuses from now on. */
function refusals(p: OrgPeer): EntryRefusal[] {
  const out: EntryRefusal[] = []
  p.org.onRefused((r) => out.push(r))
  return out
}

describe('revocation cut', () => {
  it('[CUT1] a revoked member signs an entry back-dated before its revocation: every peer refuses it (BeyondRevocationCutError); its entries up to the cut stay', async () => {
    const { a, b, members } = await startOffice(set, ['carol'], WAIT)
    const c = members[0]!
    await c.messenger.post('general', 'before')
    await c.messenger.pushTo(a.net.peerId, 'general', signal())
    await vi.waitFor(async () => expect(await textsOf(b, 'general')).toContain('before'), WAIT)
    // rita is carol's accomplice: a member whose peer writes with carol's key (carol handed it over)
    const { code } = await b.org.createInvite()
    const back = backdatingClock()
    const r = await set.add({
      ...(await joinWith(code, 'rita')),
      entrySigner: c.signer,
      clock: back.clock,
    })
    await connectOrg(r, a)
    await r.messenger.join('general')
    await vi.waitFor(async () => {
      await r.messenger.syncNow(signal())
      expect(await textsOf(r, 'general')).toContain('before')
    }, WAIT)
    const carolSeq = r.messenger.get('general')!.author(c.signer.publicKey)!.head.seq

    const revocation = await b.org.revoke('carol')
    expect(revocation.cut).toBeDefined()
    await vi.waitFor(() => {
      for (const p of [a, r]) expect(p.org.isMember(c.signer.publicKey)).toBe(false)
      expect(a.org.view().cuts.get('carol')?.pending).toBe(false)
    }, WAIT)
    await connectOrg(r, b)
    const seen = [a, b].map(refusals)

    // stamped a second before the revocation: the clock rule alone would accept it
    back.backdate(revocation.at - 1_000)
    const posted = await r.messenger.post('general', 'backdated')
    expect(posted.seq).toBe(carolSeq + 1)
    for (const [i, p] of [a, b].entries()) {
      const acked = await r.messenger.pushTo(p.net.peerId, 'general', signal()).catch(() => -1)
      expect(acked).not.toBe(posted.seq)
      await p.messenger.syncNow(signal())
      expect(await textsOf(p, 'general')).toContain('before')
      expect(await textsOf(p, 'general')).not.toContain('backdated')
      expect(p.messenger.get('general')!.author(c.signer.publicKey)!.head.seq).toBe(carolSeq)
      await vi.waitFor(
        () =>
          expect(
            seen[i]!.some(
              (x) =>
                x.seq === posted.seq && (x.reason as Error).name === 'BeyondRevocationCutError',
            ),
          ).toBe(true),
        WAIT,
      )
    }
  })
})
