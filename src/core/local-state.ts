/**
 * What this browser remembers for its user and tells nobody: rooms joined, read markers, composer
 * drafts, which of our messages another peer holds, when people were last seen. JSON values in the
 * history store's settings, written through (a reload or a closed tab loses nothing).
 */
import type { Hlc } from '../crdt/hlc.ts'
import type { HistoryStore } from './store.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

export interface LocalData {
  /** Rooms shown in the sidebar, in join order. */
  joined: string[]
  /** Rooms the user left (not re-joined by a dm notice or a default). */
  left: string[]
  /** room → clock of the newest message read. */
  read: Record<string, Hlc>
  /** room → highest seq of our chain another peer is known to hold. */
  delivered: Record<string, number>
  /** author → last time heard from (ms). */
  lastSeen: Record<string, number>
  /** The room last open. */
  current: string
}

const DEFAULTS: LocalData = {
  joined: ['general'],
  left: [],
  read: {},
  delivered: {},
  lastSeen: {},
  current: 'general',
}

export class LocalState {
  readonly #store: HistoryStore
  #data: LocalData = structuredClone(DEFAULTS)
  #drafts = new Map<string, string>()
  #saving: Promise<void> = Promise.resolve()

  constructor(store: HistoryStore) {
    this.#store = store
  }

  async load(): Promise<void> {
    const raw = await this.#store.getSetting('ui/local')
    if (raw !== undefined) {
      try {
        this.#data = { ...structuredClone(DEFAULTS), ...(JSON.parse(dec.decode(raw)) as object) }
      } catch {
        // unreadable (written by a newer version?): start from defaults, history is untouched
        this.#data = structuredClone(DEFAULTS)
      }
    }
    const drafts = await this.#store.getSetting('ui/drafts')
    if (drafts !== undefined)
      this.#drafts = new Map(Object.entries(JSON.parse(dec.decode(drafts)) as object))
  }

  get data(): Readonly<LocalData> {
    return this.#data
  }

  /** Changes the data and writes it (writes are serialized, the latest wins). */
  update(fn: (d: LocalData) => void): Promise<void> {
    fn(this.#data)
    const bytes = enc.encode(JSON.stringify(this.#data))
    this.#saving = this.#saving
      .catch(() => undefined)
      .then(() => this.#store.putSetting('ui/local', bytes))
    return this.#saving
  }

  draft(room: string): string {
    return this.#drafts.get(room) ?? ''
  }

  saveDraft(room: string, text: string): Promise<void> {
    if (text === '') this.#drafts.delete(room)
    else this.#drafts.set(room, text)
    const bytes = enc.encode(JSON.stringify(Object.fromEntries(this.#drafts)))
    this.#saving = this.#saving
      .catch(() => undefined)
      .then(() => this.#store.putSetting('ui/drafts', bytes))
    return this.#saving
  }
}
