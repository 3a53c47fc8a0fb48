/**
 * The operator's control API of a running `parley serve`, and the client the other CLI commands
 * use to work through it. Loopback only; the token lives in the data directory (mode 0600).
 */
import { readFileSync, writeFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Messenger } from '../core/messenger.ts'
import { sendJson, type ControlHandler } from './http.ts'
import { lockHolder } from './data-dir.ts'
import { toJsonLine, toLine, historyOf } from './output.ts'
import { getControl, sendFileControl } from './file-control.ts'
import type { Org } from '../core/org.ts'
import { orgControl } from './org-control.ts'

export interface ControlInfo {
  pid: number
  port: number
  token: string
}

export function writeControlInfo(dataDir: string, info: ControlInfo): () => void {
  const file = join(dataDir, 'control.json')
  writeFileSync(file, JSON.stringify(info), { mode: 0o600 })
  return () => rmSync(file, { force: true })
}

/** The control endpoint of the `parley serve` that holds `dataDir`, if one runs. */
export function findControl(dataDir: string): ControlInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(join(dataDir, 'control.json'), 'utf8')) as ControlInfo
    return lockHolder(dataDir) === info.pid ? info : undefined
  } catch {
    return undefined
  }
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length
    if (size > 64 * 1024 * 1024) throw new Error('request too large')
    chunks.push(c)
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>
}

/**
 * Dials `addr` and waits until the peer counts (in an organisation: once both proofs are admitted),
 * so whatever the caller does next — list connections, hand over queued entries — sees it. Gives up
 * waiting, not dialling, when `signal` aborts.
 */
export async function dialAdmitted(
  messenger: Messenger,
  addr: string,
  signal: AbortSignal,
): Promise<string> {
  const peer = await messenger.dial(addr, signal)
  await new Promise<void>((resolve) => {
    const done = (): void => (off(), signal.removeEventListener('abort', done), resolve())
    const off = messenger.net.onPeers((p) => p.includes(peer) && done())
    if (messenger.net.peers().includes(peer)) done()
    signal.addEventListener('abort', done)
  })
  return peer
}

/** Serves `/api/ctl/{send,send-file,get,read,rooms,peers,dial}` and the org's paths. */
export function controlHandler(
  messenger: Messenger,
  org?: { org: Org | undefined; addrs: () => string[]; webUrls: () => string[] },
): ControlHandler {
  return async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: URLSearchParams,
  ) => {
    switch (path) {
      case 'send': {
        const b = await body(req)
        const room = String(b.room)
        const posted = await messenger.post(room, String(b.text))
        const timeoutMs = Number(b.timeoutMs ?? 10_000)
        try {
          const peer = await messenger.waitDelivered(
            room,
            posted.seq,
            AbortSignal.timeout(timeoutMs),
          )
          return sendJson(res, 200, { id: posted.message.id, seq: posted.seq, deliveredTo: peer })
        } catch {
          return sendJson(res, 504, { id: posted.message.id, seq: posted.seq, queued: true })
        }
      }
      case 'send-file':
        return sendFileControl(messenger, await body(req), res)
      case 'get':
        return getControl(messenger, await body(req), req, res)
      case 'read': {
        const room = query.get('room') ?? ''
        const history = await historyOf(messenger, room)
        if (query.get('follow') !== '1') return sendJson(res, 200, history)
        res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' })
        const seen = new Set<string>()
        for (const m of history) {
          seen.add(m.id)
          res.write(toJsonLine(m) + '\n')
        }
        const off = messenger.onRoomChange((r) => {
          if (r !== room) return
          void messenger.messages(room).then((list) => {
            for (const m of list) {
              if (seen.has(m.id)) continue
              seen.add(m.id)
              res.write(toJsonLine(toLine(m)) + '\n')
            }
          })
        })
        req.on('close', off)
        return
      }
      case 'rooms':
        return sendJson(res, 200, await roomList(messenger))
      case 'peers':
        return sendJson(res, 200, {
          people: messenger.people(),
          connections: messenger.connections(),
        })
      case 'dial': {
        const b = await body(req)
        return sendJson(res, 200, {
          peer: await dialAdmitted(messenger, String(b.addr), AbortSignal.timeout(10_000)),
        })
      }
      default:
        if (org !== undefined && (await orgControl(org.org, org, req, res, path))) return
        return sendJson(res, 404, { error: `no control command ${path}` })
    }
  }
}

export async function roomList(
  messenger: Messenger,
): Promise<{ room: string; name: string; topic: string }[]> {
  const out = []
  for (const room of messenger.list()) {
    if (room.startsWith('sys.')) continue // reserved: the org's records, directories
    const meta = await messenger.roomMeta(room)
    out.push({ room, name: meta?.name ?? room, topic: meta?.topic ?? '' })
  }
  return out
}

/** Calls the control API of a running serve. */
export async function callControl(
  info: ControlInfo,
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<Response> {
  try {
    return await fetch(`http://127.0.0.1:${info.port}/api/ctl/${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      ...(init.signal === undefined ? {} : { signal: init.signal }),
    })
  } catch (err) {
    if (init.signal?.aborted === true) throw err
    throw new ServeGoneError(info, err)
  }
}

/** The serve of the data directory stopped answering (it was stopped or it died). */
export class ServeGoneError extends Error {
  static override readonly name = 'ServeGoneError'
  constructor(info: ControlInfo, cause: unknown) {
    const why = (cause as { cause?: Error }).cause?.message ?? (cause as Error).message
    super(`lost the connection to parley serve (pid ${info.pid}) of this data directory: ${why}`, {
      cause,
    })
    this.name = 'ServeGoneError'
  }
}
