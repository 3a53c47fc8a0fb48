/**
 * A linked device's entries that reach a peer before its certificate does (real messengers, SQLite,
 * the org wiring, on the deterministic memory hub: gossip is delivered only on `hub.flush()`, and no
 * anti-entropy round runs during the test, so only what a change triggers can repair).
 *
 * A peer refuses entries whose author key holds no certificate it knows. When that key's
 * certificate arrives it pulls again — also when the key is a new device of a user it already knows
 * (before, only a new user did: a phone's first dm reply stayed refused at the other user's
 * browser until an anti-entropy round happened to pull it, 7.5–22.5 s later and from a random peer).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMemoryHub } from '../../src/net/memory.ts'
import { nodeCrypto } from '../../src/node/crypto-node.ts'
import { redeemLink } from '../../src/core/org-join.ts'
import { hexOf } from '../../src/crdt/org-hex.ts'
import { OrgPeerSet, newNodeSigner, newOrg, textsOf } from '../helpers/org-peers.ts'

const set = new OrgPeerSet()
afterEach(() => set.teardown())

const WAIT = { timeout: 20_000, interval: 50 }
/** Mean anti-entropy interval far beyond the test: no background round repairs anything. */
const QUIET = 3_600_000

describe('a linked device whose certificate arrives after its entries', () => {
  it('[DEVDM5] a peer that refused a new device’s entries (no certificate yet) pulls them again once the certificate arrives, though the user was known', async () => {
    const hub = createMemoryHub({ autoFlush: false, autoConnect: false })
    const onHub = {
      net: (init: Parameters<typeof hub.createNet>[1]) => hub.createNet(undefined, init),
      antiEntropyMs: QUIET,
    }
    // office peer A (the root), alice on B, carol's first device C; every peer starts knowing
    // every user, so no new user shows up later (a new user makes a peer pull again anyway)
    const o = await newOrg()
    const [aSigner, aliceSigner, carolSigner] = [newNodeSigner(), newNodeSigner(), newNodeSigner()]
    const a = await set.add({ ...o, signer: aSigner, ...onHub })
    const certs = [
      await a.org.issueCertificate({
        userId: 'office',
        name: 'Office',
        key: aSigner.publicKey,
        role: 'peer',
      }),
      await a.org.issueCertificate({
        userId: 'alice',
        name: 'Alice',
        key: aliceSigner.publicKey,
        role: 'admin',
      }),
      await a.org.issueCertificate({
        userId: 'carol',
        name: 'Carol',
        key: carolSigner.publicKey,
        role: 'member',
      }),
    ]
    const org = { root: o.root, networkKey: o.networkKey, records: certs, ...onHub }
    const b = await set.add({ ...org, signer: aliceSigner })
    const c = await set.add({ ...org, signer: carolSigner })
    hub.connect(b.net.peerId, a.net.peerId)
    hub.connect(c.net.peerId, a.net.peerId)
    await c.messenger.post('plans', 'first plan')
    await vi.waitFor(async () => {
      await hub.flush()
      expect(await textsOf(b, 'plans')).toEqual(['first plan'])
    }, WAIT)

    // carol links her phone D; it catches up from A by pulls (no gossip is delivered from here)
    const { code: link } = await c.org.createDeviceLink()
    const dSigner = newNodeSigner()
    const r = await redeemLink(nodeCrypto, link, dSigner)
    const d = await set.add({
      root: r.root,
      networkKey: r.networkKey,
      records: r.records,
      signer: dSigner,
      ...onHub,
    })
    const phone = dSigner.publicKey
    hub.connect(d.net.peerId, a.net.peerId)
    await vi.waitFor(async () => expect(await textsOf(d, 'plans')).toEqual(['first plan']), WAIT)
    // it writes while linked to nobody (published to no one), then A pulls it on reconnecting
    hub.disconnect(d.net.peerId, a.net.peerId)
    await d.messenger.post('plans', 'from the phone')
    hub.connect(d.net.peerId, a.net.peerId)
    await vi.waitFor(
      async () => expect(await textsOf(a, 'plans')).toEqual(['first plan', 'from the phone']),
      WAIT,
    )

    // A hands the phone's entries to alice's peer, which has not heard of the phone (its
    // certificate waits in undelivered gossip) unless a pull A asked for since taught it: if not,
    // it refuses them ("no certificate", logged) and holds none of them
    await a.messenger.pushTo(b.net.peerId, 'plans', AbortSignal.timeout(10_000), phone)
    // then the certificate arrives (a sys.org record and an admission proof both land in Org.add):
    // what was refused is pulled again, with no gossip delivered and no anti-entropy round
    await b.org.add(d.org.chainOf(phone))
    expect(b.org.view().byKey.get(hexOf(phone))).toBe('carol')
    await vi.waitFor(
      async () => expect(await textsOf(b, 'plans')).toEqual(['first plan', 'from the phone']),
      WAIT,
    )
  })
})
