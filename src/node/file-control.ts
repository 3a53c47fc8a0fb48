/**
 * The file commands of a running serve's control API: `send-file` shares a local file (the serve
 * reads it from disk itself, streaming) and `get` fetches one into a local path, reporting progress
 * as NDJSON lines.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Messenger } from '../core/messenger.ts'
import { sendJson } from './http.ts'
import { addLocalFile, writeLocalFile } from './file-io.ts'

/** `{ room, path, text?, timeoutMs? }` → 200 `{ id, fileId, deliveredTo, heldBy }`, or 504 when nobody took it. */
export async function sendFileControl(
  messenger: Messenger,
  b: Record<string, unknown>,
  res: ServerResponse,
): Promise<void> {
  const room = String(b.room)
  const att = await addLocalFile(messenger, String(b.path), room)
  const posted = await messenger.share(room, att, typeof b.text === 'string' ? b.text : '')
  const signal = AbortSignal.timeout(Number(b.timeoutMs ?? 10_000))
  const reply = { id: posted.message.id, seq: posted.seq, fileId: att.id, size: att.size }
  try {
    const deliveredTo = await messenger.waitDelivered(room, posted.seq, signal)
    const heldBy = await messenger.files.waitHeld(att.id, 'manifest', signal)
    sendJson(res, 200, { ...reply, deliveredTo, heldBy })
  } catch {
    sendJson(res, 504, { ...reply, queued: true })
  }
}

/** `{ id, out }` → NDJSON: `{ progress }` lines, then `{ done, bytes, out }` or `{ error }`. */
export async function getControl(
  messenger: Messenger,
  b: Record<string, unknown>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const id = String(b.id)
  const ac = new AbortController()
  // The CLI went away (Ctrl-C): cancel; what was stored stays for the next `get`.
  res.on('close', () => {
    if (!res.writableFinished) ac.abort()
  })
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' })
  const off = messenger.files.onProgress((p) => {
    if (p.id === id) res.write(JSON.stringify({ progress: p }) + '\n')
  })
  try {
    await messenger.files.fetch(id, { signal: ac.signal })
    const bytes = await writeLocalFile(messenger, id, String(b.out))
    res.end(JSON.stringify({ done: true, bytes, out: String(b.out) }) + '\n')
  } catch (err) {
    const e = err as Error
    res.end(JSON.stringify({ error: { name: e.name, message: e.message } }) + '\n')
  } finally {
    off()
    void req
  }
}
