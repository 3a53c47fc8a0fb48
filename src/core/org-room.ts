/**
 * Binds an {@link Org} to a messenger: the org state is fed from the reserved room `sys.org` (one
 * signed record per message, synced like any room), records this peer learns elsewhere (its own
 * chain, admission proofs, records it issues) are posted there, every ingested entry is checked
 * against its author's certificate ({@link orgGate}), and when a member is revoked the peers it
 * was admitted on are evicted.
 */
import { createLogger } from '../net/logger.ts'
import type { PeerIdString, PeerNet, Unsubscribe } from '../net/index.ts'
import { authorId, equalBytes } from '../crdt/entry.ts'
import type { OrgView } from '../crdt/org-state.ts'
import { hexOf } from '../crdt/org-hex.ts'
import { ORG_ROOM, recordOfText, recordText, recordsInUpdate } from '../crdt/org-entry.ts'
import type { Messenger } from './messenger.ts'
import type { EntryGate } from './room-history.ts'
import type { StoredHead } from './store.ts'
import { BeyondRevocationCutError, cutHeadAsStored, cutOf, cutRefusal } from './revocation-cut.ts'
import type { Org } from './org.ts'

const log = createLogger('parley:core:org')

/** How long a revoked member's peer is given to learn of its revocation before it is cut off. */
const FAREWELL_MS = 3_000

/**
 * The ingest check: an entry is stored only if its author holds a certificate valid at the entry's
 * time and was not revoked before it — or, for a user revoked with a cut, only up to the cut in a
 * room the cut names, whatever its clock (src/core/revocation-cut.ts). In `sys.org` an entry may
 * also carry its author's own certificate chain (a newcomer's redemption): its records are learnt
 * first.
 *
 * An author with a refused entry loses the whole batch and its head (a chain cannot continue past
 * a refused entry), except entries below the first one refused beyond a cut: they stay, under the
 * cut's head. A head beyond a cut is replaced by the cut's head.
 */
export function orgGate(org: Org): EntryGate {
  return async (room, entries, head) => {
    if (room === ORG_ROOM)
      for (const v of entries)
        if (org.refusal(v.entry.author, v.entry.hlc.wall) !== undefined)
          await org.add(recordsInUpdate(v.entry.update))
    const view = org.view()
    /** Per author hex: the lowest seq refused, and whether every refusal was beyond a cut. */
    const refused = new Map<string, { lowest: number; cutOnly: boolean }>()
    for (const v of entries) {
      const { author, hlc, seq } = v.entry
      const byCut = cutRefusal(view, room, v.entry, v.stored.hash)
      const why = byCut === 'clock' ? org.refusal(author, hlc.wall) : byCut
      if (why === undefined) continue
      log.error('refused entry %d by %s in %s: %s', seq, authorId(author), room, String(why))
      org.refused({ room, author, seq, reason: why })
      const key = hexOf(author)
      const had = refused.get(key)
      const cutOnly = why instanceof BeyondRevocationCutError && !why.fork
      refused.set(key, {
        lowest: Math.min(had?.lowest ?? Infinity, seq),
        cutOnly: (had?.cutOnly ?? true) && cutOnly,
      })
    }
    const kept = entries.filter((v) => {
      const r = refused.get(hexOf(v.entry.author))
      return r === undefined || (r.cutOnly && v.entry.seq < r.lowest)
    })
    return { entries: kept, head: headAfterCut(view, room, head, refused) }
  }
}

/** The head to store with a gated batch (see {@link orgGate}). */
function headAfterCut(
  view: OrgView,
  room: string,
  head: StoredHead | undefined,
  refused: ReadonlyMap<string, { cutOnly: boolean }>,
): StoredHead | undefined {
  if (head === undefined) return undefined
  const r = refused.get(hexOf(head.author))
  if (r !== undefined && !r.cutOnly) return undefined
  const cut = cutOf(view, room, head.author)
  if (cut === 'pending') return undefined
  if (cut === undefined) return head
  const beyond = head.seq > cut.seq || (head.seq === cut.seq && !equalBytes(head.hash, cut.hash))
  if (!beyond) return head
  return cut.seq === 0 ? undefined : cutHeadAsStored(cut)
}

export class OrgRoom {
  readonly #messenger: Messenger
  readonly #org: Org
  readonly #net: PeerNet
  /** Records (by signature) already posted in `sys.org`, by anyone. */
  readonly #posted = new Set<string>()
  /** Peers admitted with a proof, and the device key they proved. */
  readonly #peerKeys = new Map<PeerIdString, Uint8Array>()
  readonly #off: Unsubscribe[] = []
  /** Device keys with a certificate (every user's devices), at the last change. */
  #keys = 0
  #cuts = 0
  #reading: Promise<void> = Promise.resolve()
  #publishing: Promise<void> = Promise.resolve()
  #resync: ReturnType<typeof setTimeout> | undefined
  #evicting: Promise<void> = Promise.resolve()

  constructor(messenger: Messenger, org: Org) {
    this.#messenger = messenger
    this.#org = org
    this.#net = messenger.net
  }

  /** Loads `sys.org` (every period) into the org; call before the messenger starts syncing. */
  async start(): Promise<void> {
    this.#keys = this.#org.view().byKey.size
    this.#off.push(
      this.#messenger.onRoomChange((room) => room === ORG_ROOM && this.#read()),
      this.#org.onChange(() => this.#changed()),
    )
    await this.#messenger.join(ORG_ROOM)
    while (await this.#messenger.loadOlder(ORG_ROOM)) {
      /* every period of sys.org counts */
    }
    this.#read()
    await this.#reading
    this.#queuePublish()
    await this.#publishing
  }

  /** Resolves once the records known so far are written to `sys.org` (stored, not delivered). */
  async settled(): Promise<void> {
    await this.#reading
    await this.#publishing
  }

  #queuePublish(): void {
    this.#publishing = this.#publishing
      .then(() => this.#publish())
      .catch((err: unknown) => log.error('posting org records failed: %e', err))
  }

  stop(): void {
    clearTimeout(this.#resync)
    for (const off of this.#off.splice(0)) off()
  }

  /** A peer proved `key` at admission: evicted if that member is revoked. */
  admitted(peer: PeerIdString, key: Uint8Array): void {
    this.#peerKeys.set(peer, key)
  }

  #read(): void {
    this.#reading = this.#reading.then(async () => {
      const records = []
      for (const m of await this.#messenger.messages(ORG_ROOM)) {
        const r = m.deleted ? undefined : recordOfText(m.text)
        if (r === undefined) continue
        this.#posted.add(hexOf(r.sig))
        records.push(r)
      }
      await this.#org.add(records)
    })
    this.#reading.catch((err: unknown) => log.error('reading %s failed: %e', ORG_ROOM, err))
  }

  #changed(): void {
    this.#queuePublish()
    const evictions: Promise<void>[] = []
    for (const [peer, key] of this.#peerKeys) {
      if (this.#org.isMember(key)) continue
      this.#peerKeys.delete(peer)
      log('evicting %s: %s', peer, this.#org.refusal(key, this.#org.now()))
      const evict = async (): Promise<void> => {
        await this.#farewell(peer, key)
        await this.#net.evict(peer)
      }
      evictions.push(evict().catch((err: unknown) => log('evict %s: %e', peer, err)))
    }
    // re-verification waits for every eviction under way (a farewell is not cut short)
    this.#evicting = Promise.all([this.#evicting, ...evictions]).then(() => undefined)
    void this.#evicting
      .then(() => this.#net.readmitAll())
      .catch((err: unknown) => log('readmit failed: %e', err))
    // Entries refused while their author was unknown (or its cut pending) are pulled again: an
    // author is a device key, so a new device of a known user counts (its first posts may have
    // come before its certificate).
    const keys = this.#org.view().byKey.size
    const cuts = [...this.#org.view().cuts.values()].filter((c) => !c.pending).length
    if (keys > this.#keys || cuts > this.#cuts) {
      clearTimeout(this.#resync)
      this.#resync = setTimeout(() => void this.#messenger.syncNow().catch(() => undefined), 200)
    }
    if (cuts > this.#cuts)
      // entries applied before a cut reached us leave the documents
      void this.#messenger.applyCuts().catch((err: unknown) => log.error('cuts: %e', err))
    this.#keys = keys
    this.#cuts = cuts
  }

  /**
   * Before a revoked member's peer is cut off it is pushed the `sys.org` chains that carry its
   * revocation (the issuer's, then ours), so the member's own app learns it was removed instead of
   * silently losing every connection (issue #4). The same for a peer whose redemption lost to an
   * earlier one of the same invitation: ours carries the winner's certificate. Bounded by {@link FAREWELL_MS}; the eviction
   * follows whatever happens.
   */
  async #farewell(peer: PeerIdString, key: Uint8Array): Promise<void> {
    const userId = this.#org.view().byKey.get(hexOf(key))
    const rev = this.#org.revocations().find((r) => r.userId === userId)
    const signal = AbortSignal.timeout(FAREWELL_MS)
    // the records that settle it (a revocation, another's earlier redemption) posted first
    await new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => resolve(), { once: true })
      void this.#publishing.then(resolve)
    })
    for (const author of [...(rev === undefined ? [] : [rev.issuer]), this.#org.signer.publicKey])
      await this.#messenger
        .pushTo(peer, ORG_ROOM, signal, author)
        .catch((err: unknown) => log('farewell to %s: %e', peer, err))
  }

  /** Posts every record we hold that `sys.org` lacks, once we hold a certificate ourselves. */
  async #publish(): Promise<void> {
    const me = hexOf(this.#org.signer.publicKey)
    const records = this.#org.records()
    if (!records.some((r) => r.kind === 'cert' && hexOf(r.key) === me)) return
    const missing = records.filter((r) => !this.#posted.has(hexOf(r.sig)))
    if (missing.length === 0) return
    for (const r of missing) this.#posted.add(hexOf(r.sig))
    const h = await this.#messenger.join(ORG_ROOM)
    // written without a meta entry: a newcomer's first sys.org entry carries its own chain
    await Promise.all(missing.map((r) => h.write({ kind: 'post', text: recordText(r) })))
  }
}
