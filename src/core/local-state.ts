/**
 * What this browser remembers for its user and tells nobody: rooms joined, read markers, composer
 * drafts, which of our messages another peer holds, when people were last seen. JSON values in the
 * history store's settings, written through (a reload or a closed tab loses nothing).
 */
import type { Hlc } from '../crdt/hlc.ts'
import type { HistoryStore } from './store.ts'

/** The settings {@link LocalState.load} reads. */
export const LOCAL_SETTINGS = ['ui/local', 'ui/drafts'] as const

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
    // Unreadable or foreign values (damaged, or written by a newer version) fall back to the
    // defaults field by field: this is UI state, history is untouched, and the client must start.
    this.#data = raw === undefined ? structuredClone(DEFAULTS) : toLocalData(parse(raw))
    const drafts = parse((await this.#store.getSetting('ui/drafts')) ?? enc.encode('{}'))
    this.#drafts = new Map(
      isRecord(drafts)
        ? Object.entries(drafts).filter((e): e is [string, string] => typeof e[1] === 'string')
        : [],
    )
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

/** The JSON value of `bytes`, or `undefined` if they are not JSON. */
function parse(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(dec.decode(bytes))
  } catch {
    // not JSON: the caller falls back to its defaults
    return undefined
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** The entries of `v` whose values pass `ok`, as a fresh object (`{}` if `v` is no object). */
function recordOf<T>(v: unknown, ok: (x: unknown) => x is T): Record<string, T> {
  if (!isRecord(v)) return {}
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, T] => ok(e[1])))
}

const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x)
const isStrings = (x: unknown): x is string[] =>
  Array.isArray(x) && x.every((s) => typeof s === 'string')
const isClock = (x: unknown): x is Hlc => isRecord(x) && isNumber(x['wall']) && isNumber(x['count'])

/** Stored local data, each field kept only if it has the right shape (else its default). */
function toLocalData(v: unknown): LocalData {
  const d = structuredClone(DEFAULTS)
  if (!isRecord(v)) return d
  return {
    ...v, // fields of a newer version, kept for it
    joined: isStrings(v['joined']) ? v['joined'] : d.joined,
    left: isStrings(v['left']) ? v['left'] : d.left,
    read: recordOf(v['read'], isClock),
    delivered: recordOf(v['delivered'], isNumber),
    lastSeen: recordOf(v['lastSeen'], isNumber),
    current: typeof v['current'] === 'string' ? v['current'] : d.current,
  }
}
