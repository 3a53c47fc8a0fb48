/**
 * Parley peers of an organisation for tests: real libp2p (TCP on 127.0.0.1), SQLite, Node crypto,
 * each with its {@link Org}, the entry gate and the `sys.org` binding wired as a real peer has them.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { expect, vi } from 'vitest'
import { createLibp2pNet } from '../../src/net/libp2p.ts'
import type { Admission, AdmissionRefusal, PeerIdString, PeerNet } from '../../src/net/index.ts'
import { Messenger } from '../../src/core/messenger.ts'
import { ParleyClient } from '../../src/core/client.ts'
import { authorId } from '../../src/crdt/entry.ts'
import { Org } from '../../src/core/org.ts'
import type { OrgRoom } from '../../src/core/org-room.ts'
import { wireOrg, type OrgWiring } from '../../src/core/org-wiring.ts'
import { createRootStatement, redeemInvite } from '../../src/core/org-join.ts'
import { openSqliteStore } from '../../src/node/sqlite-store.ts'
import { nodeCrypto, createNodeSigner } from '../../src/node/crypto-node.ts'
import type { DeviceSigner } from '../../src/crdt/crypto.ts'
import type { OrgRecord, RootStatement } from '../../src/crdt/org-records.ts'
import type { HistoryStore } from '../../src/core/store.ts'
import type { HybridClock } from '../../src/crdt/hlc.ts'

export interface OrgPeer {
  messenger: Messenger
  net: PeerNet
  store: HistoryStore
  org: Org
  wiring: OrgWiring
  room: OrgRoom
  signer: DeviceSigner
  /** Every admission verdict this peer gave. */
  verdicts: Verdict[]
  /** Every refusal of its own proof this peer heard. */
  refusals: AdmissionRefusal[]
  stop(): Promise<void>
}

export interface Verdict {
  peer: PeerIdString
  ok: boolean
}

export const newNodeSigner = (): DeviceSigner => createNodeSigner(new Uint8Array(randomBytes(32)))

export class OrgPeerSet {
  readonly peers: OrgPeer[] = []
  readonly dirs: string[] = []
  readonly #clients: ParleyClient[] = []

  /** The web app's client over `p`, signed in as `userId`, started; stopped by {@link teardown}. */
  async client(p: OrgPeer, userId: string): Promise<ParleyClient> {
    const client = await startOrgClient(p, userId)
    this.#clients.push(client)
    return client
  }

  /** A started peer of the org given by `root` and `networkKey`, holding `records`. */
  async add(init: {
    root: RootStatement
    networkKey: Uint8Array
    records?: OrgRecord[]
    signer?: DeviceSigner
    rootSigner?: DeviceSigner
    /** Writes entries with another key than the one it proves at admission (a rogue member). */
    entrySigner?: DeviceSigner
    /** The messenger's clock (a rogue member's back-dating one). @default the real one */
    clock?: HybridClock
    /** Another net than libp2p over TCP (e.g. the memory hub's), given the org's key and admission. */
    net?: (init: { networkKey: Uint8Array; admission: Admission }) => PeerNet
    /** Mean interval of anti-entropy rounds. @default 2000 */
    antiEntropyMs?: number
  }): Promise<OrgPeer> {
    const dir = mkdtempSync(join(tmpdir(), 'parley-org-'))
    this.dirs.push(dir)
    const store = openSqliteStore(join(dir, 'history.db'))
    const signer = init.signer ?? newNodeSigner()
    const org = await Org.open(
      {
        crypto: nodeCrypto,
        root: init.root,
        networkKey: init.networkKey,
        signer,
        ...(init.rootSigner === undefined ? {} : { rootSigner: init.rootSigner }),
      },
      init.records ?? [],
    )
    let peerId = (): PeerIdString => {
      throw new Error('no peer id yet')
    }
    const wiring = wireOrg(org, () => peerId())
    const verdicts: Verdict[] = []
    const admission: Admission = {
      proof: () => wiring.admission.proof(),
      async verify(peer, proof, options) {
        // a refusal throws (AdmissionRefusedError tells the peer why)
        const ok = await wiring.admission.verify(peer, proof, options).catch((err: unknown) => {
          verdicts.push({ peer, ok: false })
          throw err
        })
        verdicts.push({ peer, ok })
        return ok
      },
    }
    const net =
      init.net?.({ networkKey: wiring.networkKey, admission }) ??
      (await createLibp2pNet({
        listen: ['/ip4/127.0.0.1/tcp/0'],
        mdns: false,
        networkKey: wiring.networkKey,
        admission,
      }))
    peerId = () => net.peerId
    const refusals: AdmissionRefusal[] = []
    net.onRefused((r) => refusals.push(r))
    const messenger = new Messenger({
      net,
      store,
      signer: init.entrySigner ?? signer,
      crypto: nodeCrypto,
      name: `org-${dir.slice(-6)}`,
      retainAll: true,
      antiEntropyMs: init.antiEntropyMs ?? 2_000,
      gate: wiring.gate,
      ...(init.clock === undefined ? {} : { clock: init.clock }),
    })
    await net.start()
    const room = await wiring.attach(messenger)
    await messenger.start()
    let stopped = false
    const peer: OrgPeer = {
      messenger,
      net,
      store,
      org,
      wiring,
      room,
      signer,
      verdicts,
      refusals,
      async stop() {
        if (stopped) return
        stopped = true
        room.stop()
        await messenger.stop()
        await net.stop()
        await store.close()
      },
    }
    this.peers.push(peer)
    return peer
  }

  async teardown(): Promise<void> {
    for (const c of this.#clients.splice(0)) await c.stop()
    for (const p of this.peers.splice(0)) await p.stop()
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  }
}

/** A new org: its root Node peer's keys and statement. */
export async function newOrg(name = 'Acme'): Promise<{
  rootSigner: DeviceSigner
  root: RootStatement
  networkKey: Uint8Array
}> {
  const rootSigner = newNodeSigner()
  return {
    rootSigner,
    root: await createRootStatement(rootSigner, name),
    networkKey: new Uint8Array(randomBytes(32)),
  }
}

/** Redeems `code` as a new device; the records it would start with. */
export async function joinWith(code: string, userId: string) {
  const signer = newNodeSigner()
  const r = await redeemInvite(nodeCrypto, code, { userId, name: userId, signer })
  return { signer, root: r.root, networkKey: r.networkKey, records: [r.invitation, r.cert] }
}

export const tcpAddr = (p: OrgPeer): string => p.net.addresses().find((x) => x.includes('/tcp/'))!

/** Connects `a` to `b` and waits until `a` admitted `b`. */
export async function connectOrg(a: OrgPeer, b: OrgPeer): Promise<void> {
  await a.net.dial(tcpAddr(b))
  await vi.waitFor(
    () => {
      if (!a.net.peers().includes(b.net.peerId)) throw new Error('not connected yet')
    },
    { timeout: 10_000 },
  )
}

/** The texts `p` shows in `room`. */
export async function textsOf(p: OrgPeer, room: string): Promise<string[]> {
  return (await p.messenger.messages(room)).map((m) => m.text)
}

/** An office of {@link startOffice}: the org, its peers, and the invitation codes members used. */
export interface Office {
  o: Awaited<ReturnType<typeof newOrg>>
  /** Office Node peer: holds the root, certified with role `peer`. */
  a: OrgPeer
  /** Admin alice, connected to A. */
  b: OrgPeer
  /** One peer per member name, joined by an invitation of alice's and connected to A. */
  members: OrgPeer[]
  codes: string[]
}

/**
 * Office Node peer A (root, role `peer`), admin alice on B, and a peer per name in `members`
 * joined by invitation — returned once every peer counts every member.
 */
export async function startOffice(
  set: OrgPeerSet,
  members: string[],
  wait: { timeout: number; interval: number },
): Promise<Office> {
  const o = await newOrg()
  const aSigner = newNodeSigner()
  const a = await set.add({ ...o, signer: aSigner })
  await a.org.issueCertificate({
    userId: 'office',
    name: 'Office',
    key: aSigner.publicKey,
    role: 'peer',
  })
  const aliceSigner = newNodeSigner()
  const aliceCert = await a.org.issueCertificate({
    userId: 'alice',
    name: 'Alice',
    key: aliceSigner.publicKey,
    role: 'admin',
  })
  const b = await set.add({ ...o, signer: aliceSigner, records: [aliceCert] })
  await connectOrg(b, a)
  const peers: OrgPeer[] = []
  const codes: string[] = []
  for (const userId of members) {
    const { code } = await b.org.createInvite()
    const p = await set.add(await joinWith(code, userId))
    await connectOrg(p, a)
    peers.push(p)
    codes.push(code)
  }
  await vi.waitFor(() => {
    for (const p of [a, b, ...peers])
      for (const q of peers) expect(p.org.isMember(q.signer.publicKey)).toBe(true)
  }, wait)
  return { o, a, b, members: peers, codes }
}

/** The web app's client over org peer `p`, signed in as `userId`, started. The caller stops it. */
export async function startOrgClient(p: OrgPeer, userId: string): Promise<ParleyClient> {
  const client = new ParleyClient({
    messenger: p.messenger,
    store: p.store,
    account: { userId, name: userId, author: authorId(p.signer.publicKey) },
    org: p.org,
  })
  await client.start()
  return client
}
