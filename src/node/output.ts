/** How the CLI prints history: one JSON object a line, or a human line. */
import type { Messenger } from '../core/messenger.ts'
import type { DisplayMessage } from '../core/index.ts'

export interface HistoryLine {
  id: string
  author: string
  name?: string
  time: string
  text: string
  edited?: boolean
  deleted?: boolean
  /** A shared file (or the whole of a long text): `parley get <file.id> --out PATH`. */
  file?: { id: string; name: string; size: number; type: string; kind: 'file' | 'text' }
}

/** The whole history of `room` in display order (older periods loaded as needed). */
export async function historyOf(messenger: Messenger, room: string): Promise<HistoryLine[]> {
  while (await messenger.loadOlder(room)) {
    // keep loading until the oldest period is in
  }
  return (await messenger.messages(room)).map(toLine)
}

export const toLine = (m: DisplayMessage): HistoryLine => ({
  id: m.id,
  author: m.author,
  time: new Date(m.wall).toISOString(),
  text: m.text,
  ...(m.edited ? { edited: true } : {}),
  ...(m.deleted ? { deleted: true } : {}),
  ...(m.file === undefined
    ? {}
    : {
        file: {
          id: m.file.id,
          name: m.file.name,
          size: m.file.size,
          type: m.file.type,
          kind: m.file.kind,
        },
      }),
})

export const toJsonLine = (m: HistoryLine): string => JSON.stringify(m)

export const toTextLine = (m: HistoryLine): string =>
  `[${m.time.replace('T', ' ').slice(0, 19)}] ${m.author.slice(0, 8)}: ${m.deleted ? '(deleted)' : m.text}` +
  (m.file === undefined || m.deleted === true ? '' : fileNote(m.file))

const fileNote = (f: NonNullable<HistoryLine['file']>): string =>
  f.kind === 'text'
    ? ` … (${f.size} bytes in all: parley get ${f.id} --out FILE)`
    : ` [file ${f.name}, ${f.size} bytes, ${f.type}: parley get ${f.id} --out FILE]`
