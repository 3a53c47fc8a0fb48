/**
 * The day documents a peer that keeps no room's documents in memory (`PeriodCacheInit.idleMs`)
 * writes to: each holds only our own entries of its day. That is all a write needs — our Yjs
 * clocks go on from our own updates, and a write sets only keys of our own messages (a post, an
 * edit or removal of our message) — so writing to a room never loads everyone's messages. The
 * room's documents, loaded or not, take our entries from the store like anyone's.
 */
import { PeriodDoc } from '../crdt/period-doc.ts'
import { hex } from './store.ts'
import { replayStored } from './period-apply.ts'
import { emptyDoc, type LoadedDoc, type PeriodSource } from './period-load.ts'

export class OwnDocs {
  readonly #src: PeriodSource
  readonly #docs = new Map<number, Promise<LoadedDoc>>()

  constructor(src: PeriodSource) {
    this.#src = src
  }

  /** The document of our own entries of `period`, loaded from the store on first use. */
  get(period: number): Promise<LoadedDoc> {
    let p = this.#docs.get(period)
    if (p === undefined) {
      // The clock only moves on: no write goes to an earlier day again.
      for (const older of [...this.#docs.keys()]) if (older < period) this.drop(older)
      p = this.#load(period)
      this.#docs.set(period, p)
      p.catch(() => this.#docs.delete(period))
    }
    return p
  }

  /** Forgets `period`'s document (a failed write left changes in it that no entry holds). */
  drop(period: number): void {
    const p = this.#docs.get(period)
    this.#docs.delete(period)
    void p?.then((d) => d.doc.destroy()).catch(() => undefined)
  }

  close(): void {
    for (const period of [...this.#docs.keys()]) this.drop(period)
  }

  async #load(period: number): Promise<LoadedDoc> {
    const { store, identity, room } = this.#src
    const me = hex(identity.signer.publicKey)
    const others = new Map<string, number>()
    for (const a of await store.authors(room))
      if (hex(a.author) !== me) others.set(hex(a.author), Number.MAX_SAFE_INTEGER)
    const d = emptyDoc(new PeriodDoc(room, period))
    replayStored(this.#src, d, await store.periodEntries(room, period, others))
    return d
  }
}
