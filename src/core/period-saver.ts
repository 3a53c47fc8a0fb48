/**
 * When a room's changed period documents are written back ({@link PeriodCache}): a little after
 * they change, and never while a local write is in flight (the document then holds changes the
 * store does not have yet). A document that persists itself (browser: y-indexeddb) only has its
 * covers recorded; elsewhere its whole snapshot goes to the store, once its changes weigh enough.
 */
import { createLogger } from '../net/logger.ts'
import type { HistoryStore } from './store.ts'
import { markSaved, type LoadedDoc } from './period-load.ts'

const log = createLogger('parley:core:periods')

/** How long a changed document waits before its snapshot (or covers) is written. */
export const SNAPSHOT_DELAY_MS = 2_000
/**
 * A store snapshot is the whole document, so rewriting it on every change of a busy day costs
 * more as the day grows (12,000 messages: 4 MB, ~30 ms to encode — every 2 s, on every peer in the
 * room). It is rewritten once the updates since weigh this share of it, which keeps all of a day's
 * rewrites to a few times its final size…
 */
export const SNAPSHOT_GROWTH = 0.25
/** …or once its first unsaved change is this old: what a restart replays stays bounded. */
export const SNAPSHOT_MAX_AGE_MS = 60_000

/** What a {@link PeriodSaver} saves: one room's loaded documents, owned by its PeriodCache. */
export interface PeriodSaverHost {
  room: string
  store: HistoryStore
  /** The loaded documents by period (read as they are at each save). */
  docs: ReadonlyMap<number, Promise<LoadedDoc>>
  /** Whether a local write is in flight. */
  writing: () => boolean
}

export class PeriodSaver {
  readonly #h: PeriodSaverHost
  #timer: ReturnType<typeof setTimeout> | undefined
  #closed = false

  constructor(host: PeriodSaverHost) {
    this.#h = host
  }

  /** Saves the changed documents whose snapshot is due a little later (once, however often asked). */
  schedule(): void {
    if (this.#timer !== undefined || this.#closed) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#save(false).catch((err: unknown) => log.error('snapshot failed: %e', err))
    }, SNAPSHOT_DELAY_MS)
    this.#timer.unref?.()
  }

  /**
   * Writes the snapshot of every changed document, or just its covers when it persists itself
   * (later, if a local write is in flight).
   */
  flush(): Promise<void> {
    return this.#save(true)
  }

  /** No more scheduled saves (a {@link flush} still saves). */
  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
  }

  /** `all`: every changed document; else only those whose snapshot is due ({@link SNAPSHOT_GROWTH}). */
  async #save(all: boolean): Promise<void> {
    let waiting = false
    for (const [period, p] of this.#h.docs) {
      const d = await p.catch(() => undefined)
      if (d?.changedSince === undefined) continue
      if (this.#h.writing()) {
        this.schedule()
        return
      }
      if (d.persisted !== undefined) {
        markSaved(d)
        await d.persisted.saveCovers(new Map(d.covers))
        continue
      }
      if (!all && !snapshotDue(d, Date.now())) {
        waiting = true
        continue
      }
      const snapshot = { bytes: d.doc.encodeSnapshot(), covers: new Map(d.covers) }
      markSaved(d, snapshot.bytes.length)
      await this.#h.store.putSnapshot(this.#h.room, period, snapshot)
    }
    if (waiting) this.schedule()
  }
}

/** A changed document's store snapshot is rewritten once its changes weigh enough, or are old. */
export function snapshotDue(d: LoadedDoc, now: number): boolean {
  return (
    d.changedBytes >= d.snapshotBytes * SNAPSHOT_GROWTH ||
    now - (d.changedSince ?? now) >= SNAPSHOT_MAX_AGE_MS
  )
}
