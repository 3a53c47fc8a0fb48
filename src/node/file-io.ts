/**
 * Files between the local disk and a peer's chunk store, for `parley send --file` and `parley get`
 * (standalone and through a serve's control API): streamed, never read whole into memory.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { basename, extname } from 'node:path'
import { once } from 'node:events'
import type { Messenger } from '../core/messenger.ts'
import type { Attachment } from '../core/index.ts'
import type { TransferProgress } from '../core/files/progress.ts'
import { isEncryptedRoom } from '../crdt/room-ids.ts'

const TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.log': 'text/plain',
  '.md': 'text/markdown',
  '.json': 'application/json',
  '.csv': 'text/csv',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.tar': 'application/x-tar',
  '.mp4': 'video/mp4',
  '.mp3': 'audio/mpeg',
}

/** The media type of a file name by its extension ('application/octet-stream' when unknown). */
export const mediaTypeOf = (name: string): string =>
  TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream'

/**
 * Adds the file at `path` to the peer's store (streaming), giving its attachment record; for
 * `room` an encrypted room, sealed (its chunks stored as ciphertext, src/core/files/sealed.ts).
 */
export async function addLocalFile(
  messenger: Messenger,
  path: string,
  room: string,
): Promise<Attachment> {
  const { size } = await stat(path)
  const name = basename(path)
  const source = createReadStream(path, { highWaterMark: 1024 * 1024 })
  const meta = { name, type: mediaTypeOf(name), size }
  const sealed = { sealed: isEncryptedRoom(room) }
  return messenger.files.add(source as AsyncIterable<Uint8Array>, meta, undefined, sealed)
}

/** The attachment `id` is shared with in a room this peer holds and reads (a sealed file's key). */
async function attachmentOf(
  messenger: Messenger,
  id: string,
): Promise<{ id: string; key?: string }> {
  for (const room of messenger.list()) {
    if (!isEncryptedRoom(room)) continue
    for (const m of await messenger.messages(room))
      if (m.file?.id === id && m.file.key !== undefined) return { id, key: m.file.key }
  }
  return { id }
}

/** Writes the held file `id` to `out` (via `out.part`, renamed once whole). Resolves with its size. */
export async function writeLocalFile(
  messenger: Messenger,
  id: string,
  out: string,
): Promise<number> {
  const part = `${out}.part`
  const sink = createWriteStream(part)
  let bytes = 0
  try {
    for await (const chunk of messenger.files.open(await attachmentOf(messenger, id))) {
      bytes += chunk.length
      if (!sink.write(chunk)) await once(sink, 'drain')
    }
    sink.end()
    await once(sink, 'finish')
  } catch (err) {
    sink.destroy()
    await rm(part, { force: true })
    throw err
  }
  await rename(part, out)
  return bytes
}

/** One progress line for a terminal or a log: bytes, speed, time left. */
export function progressLine(p: TransferProgress): string {
  const mb = (n: number): string => (n / 1e6).toFixed(1)
  const eta = p.etaMs === undefined ? '?' : `${Math.ceil(p.etaMs / 1000)} s`
  return `${p.state} ${p.name} ${mb(p.bytes)}/${mb(p.size)} MB ${mb(p.speed)} MB/s, ${eta} left, ${p.peers} peers`
}

/** Parses a size like `20GB`, `512MiB`, `1e9` (bytes). Undefined when not a size. */
export function parseSize(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmgt]i?b?|b)?$/i.exec(s.trim())
  if (m === null) return undefined
  const unit = (m[2] ?? 'b').toLowerCase()
  const pow = { b: 0, k: 1, m: 2, g: 3, t: 4 }[unit[0] as 'b' | 'k' | 'm' | 'g' | 't']
  const base = unit.includes('i') ? 1024 : 1000
  const n = Number(m[1]) * base ** pow
  return Number.isFinite(n) ? Math.floor(n) : undefined
}
