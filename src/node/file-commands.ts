/**
 * `parley send --file PATH` and `parley get FILE-ID --out PATH`, through a running serve or as a
 * short-lived peer of their own.
 *
 * Through a serve, `send --file` exits 0 once another peer holds the message and the file's
 * manifest: the serve stays to serve the chunks. Standalone it waits until another peer holds the
 * whole file, since nobody could fetch it from us once we exit.
 */
import type { NodePeer } from './peer.ts'
import { callControl, type ControlInfo } from './control.ts'
import { UsageError, type CliOptions } from './options.ts'
import { addLocalFile, progressLine, writeLocalFile } from './file-io.ts'
import type { TransferProgress } from '../core/files/progress.ts'

const out = (s: string): void => void process.stdout.write(s + '\n')
const PROGRESS_EVERY_MS = 1_000
/** Standalone `send --file` waits this long per byte on top of `--timeout` (10 MB/s). */
const MS_PER_BYTE = 1 / 10_000

function needRoom(o: CliOptions): string {
  if (o.room === undefined) throw new UsageError(`${o.command} needs --room NAME`)
  return o.room
}

function fileArgs(o: CliOptions): { id: string; out: string } {
  const [id] = o.positionals
  if (id === undefined || o.out === undefined)
    throw new UsageError('get needs FILE-ID and --out PATH')
  return { id, out: o.out }
}

/** Prints progress to stderr at most once a second. */
function progressPrinter(): (p: TransferProgress) => void {
  let last = 0
  return (p) => {
    const now = Date.now()
    if (now - last < PROGRESS_EVERY_MS && p.state === 'fetching') return
    last = now
    process.stderr.write(progressLine(p) + '\n')
  }
}

/** Prints the result; `fetchSeconds` is the transfer alone (without writing `--out`). */
function result(
  o: CliOptions,
  r: {
    id: string
    path: string
    bytes: number
    t0: number
    fetchSeconds?: number
    fetchCpuSeconds?: number
  },
): void {
  const seconds = (performance.now() - r.t0) / 1000
  if (!o.json) return out(`${r.id} → ${r.path} (${r.bytes} bytes in ${seconds.toFixed(1)} s)`)
  const maxRssMB = process.resourceUsage().maxRSS / 1024
  const { id, path, bytes, fetchSeconds, fetchCpuSeconds } = r
  out(JSON.stringify({ id, out: path, bytes, seconds, fetchSeconds, fetchCpuSeconds, maxRssMB }))
}

export async function sendFileViaServe(o: CliOptions, c: ControlInfo): Promise<number> {
  const room = needRoom(o)
  const body = { room, path: o.file, text: o.positionals.join(' '), timeoutMs: o.timeoutMs }
  const res = await callControl(c, 'send-file', { body })
  const r = (await res.json()) as {
    id: string
    fileId: string
    deliveredTo?: string
    heldBy?: string
    error?: string
  }
  if (res.status === 504) return queued(o, r.fileId)
  if (!res.ok) throw new Error(r.error ?? `control API answered ${res.status}`)
  out(`${r.id} delivered to ${r.deliveredTo}; file ${r.fileId} held by ${r.heldBy}`)
  return 0
}

export async function getViaServe(o: CliOptions, c: ControlInfo): Promise<number> {
  const { id, out: path } = fileArgs(o)
  const t0 = performance.now()
  const res = await callControl(c, 'get', { body: { id, out: path } })
  if (!res.ok) throw new Error(`control API answered ${res.status}`)
  const print = progressPrinter()
  const utf8 = new TextDecoder()
  let buf = ''
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += utf8.decode(chunk, { stream: true })
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = JSON.parse(buf.slice(0, nl)) as {
        progress?: TransferProgress
        done?: boolean
        bytes?: number
        error?: { name: string; message: string }
      }
      buf = buf.slice(nl + 1)
      if (line.progress !== undefined) print(line.progress)
      if (line.error !== undefined)
        throw Object.assign(new Error(line.error.message), { name: line.error.name })
      if (line.done === true) {
        result(o, { id, path, bytes: line.bytes ?? 0, t0 })
        return 0
      }
    }
  }
  throw new Error('parley serve ended the transfer without an answer')
}

export async function sendFileStandalone(o: CliOptions, peer: NodePeer): Promise<number> {
  const { messenger } = peer
  const room = needRoom(o)
  const att = await addLocalFile(messenger, o.file!, room)
  const posted = await messenger.share(room, att, o.positionals.join(' '))
  const signal = AbortSignal.timeout(o.timeoutMs + att.size * MS_PER_BYTE)
  try {
    const to = await messenger.waitDelivered(room, posted.seq, signal)
    const heldBy = await messenger.files.waitHeld(att.id, 'complete', signal)
    out(`${posted.message.id} delivered to ${to}; file ${att.id} held by ${heldBy}`)
    return 0
  } catch {
    return queued(o, att.id)
  }
}

export async function getStandalone(o: CliOptions, peer: NodePeer): Promise<number> {
  const { messenger } = peer
  const { id, out: path } = fileArgs(o)
  const t0 = performance.now()
  await firstPeer(peer, o)
  const off = messenger.files.onProgress(progressPrinter())
  const stop = new AbortController()
  const onSignal = (): void => stop.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  let fetchSeconds: number
  let fetchCpuSeconds: number
  try {
    const f0 = performance.now()
    const c0 = process.cpuUsage()
    await messenger.files.fetch(id, { signal: stop.signal })
    fetchSeconds = (performance.now() - f0) / 1000
    const c1 = process.cpuUsage(c0)
    fetchCpuSeconds = (c1.user + c1.system) / 1e6
  } finally {
    off()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  const bytes = await writeLocalFile(messenger, id, path)
  result(o, { id, path, bytes, t0, fetchSeconds, fetchCpuSeconds })
  return 0
}

/** Waits (bounded) until a peer is connected. */
async function firstPeer(peer: NodePeer, o: CliOptions): Promise<void> {
  const net = peer.messenger.net
  if (net.peers().length > 0 || (o.peers.length === 0 && !o.mdns)) return
  await new Promise<void>((res) => {
    const t = setTimeout(done, o.peers.length > 0 ? 5_000 : 2_000)
    const off = net.onPeers((p) => p.length > 0 && done())
    function done(): void {
      clearTimeout(t)
      off()
      res()
    }
  })
}

function queued(o: CliOptions, fileId: string): number {
  process.stderr.write(
    `parley: no other peer took file ${fileId} within the time allowed. It is stored in ${o.data} ` +
      `and is offered again from \`parley serve\` on that directory.\n`,
  )
  return 3
}
