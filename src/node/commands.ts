/**
 * The one-shot commands (send, read, rooms, peers, dial): through a running `parley serve` on the
 * same data directory when there is one, else as a short-lived peer of their own.
 */
import type { NodePeer } from './peer.ts'
import { callControl, dialAdmitted, findControl, roomList, type ControlInfo } from './control.ts'
import { historyOf, toJsonLine, toTextLine, type HistoryLine } from './output.ts'
import { UsageError, type CliOptions } from './options.ts'
import {
  getStandalone,
  getViaServe,
  sendFileStandalone,
  sendFileViaServe,
} from './file-commands.ts'

const out = (s: string): void => void process.stdout.write(s + '\n')

function needRoom(o: CliOptions): string {
  if (o.room === undefined) throw new UsageError(`${o.command} needs --room NAME`)
  return o.room
}

async function json<T>(res: Response): Promise<T> {
  const body = (await res.json()) as T & { error?: string }
  if (!res.ok && res.status !== 504)
    throw new Error(body.error ?? `control API answered ${res.status}`)
  return body
}

export async function runCommand(o: CliOptions): Promise<number> {
  const control = findControl(o.data)
  if (control !== undefined) return viaServe(o, control)
  // Only a standalone run loads libp2p and Yjs.
  const { startPeer } = await import('./peer.ts')
  const peer = await startPeer({
    dataDir: o.data,
    listen: ['/ip4/0.0.0.0/tcp/0'],
    mdns: o.mdns,
    peers: o.peers,
    ...(o.name === undefined ? {} : { name: o.name }),
  })
  try {
    const code = await standalone(o, peer)
    await deliverQueued(peer, o)
    return code
  } finally {
    await peer.stop()
  }
}

/**
 * Hands this device's own entries of every room it holds to a connected peer before a one-shot
 * command exits: a message an earlier `send` left queued goes out on the next run of any command.
 * (A serve that hears of them pulls them too, but only while this short-lived peer still runs.)
 */
async function deliverQueued(peer: NodePeer, o: CliOptions): Promise<void> {
  const { messenger } = peer
  const peers = messenger.net.peers()
  if (peers.length === 0) return
  const signal = AbortSignal.timeout(Math.min(o.timeoutMs, 5_000))
  await Promise.all(
    messenger
      .list()
      .map((room) =>
        Promise.any(peers.map((p) => messenger.pushTo(p, room, signal))).catch(() => undefined),
      ),
  )
}

async function viaServe(o: CliOptions, c: ControlInfo): Promise<number> {
  for (const addr of o.peers) await json(await callControl(c, 'dial', { body: { addr } }))
  if (o.command === 'send' && o.file !== undefined) return sendFileViaServe(o, c)
  if (o.command === 'get') return getViaServe(o, c)
  switch (o.command) {
    case 'send': {
      const room = needRoom(o)
      const text = o.positionals.join(' ')
      if (text === '') throw new UsageError('send needs the text to post')
      let res: Response
      let r: { id: string; deliveredTo?: string }
      try {
        res = await callControl(c, 'send', { body: { room, text, timeoutMs: o.timeoutMs } })
        r = await json<{ id: string; deliveredTo?: string }>(res)
      } catch (err) {
        if ((err as Error).name !== 'ServeGoneError') throw err
        throw new Error(
          `${(err as Error).message}. The message may or may not be stored: see \`parley read\`.`,
          { cause: err },
        )
      }
      if (res.status === 504) return queued(o)
      out(`${r.id} delivered to ${r.deliveredTo}`)
      return 0
    }
    case 'read': {
      const room = needRoom(o)
      const path = `read?room=${encodeURIComponent(room)}`
      if (!o.follow) {
        const history = await json<HistoryLine[]>(await callControl(c, path))
        for (const m of history) out(o.json ? toJsonLine(m) : toTextLine(m))
        return 0
      }
      return followViaServe(o, c, `${path}&follow=1`)
    }
    case 'rooms':
      for (const r of await json<{ room: string; topic: string }[]>(
        await callControl(c, 'rooms'),
      )) {
        out(r.topic === '' ? r.room : `${r.room}\t${r.topic}`)
      }
      return 0
    case 'peers':
      out(JSON.stringify(await json(await callControl(c, 'peers')), null, 2))
      return 0
    case 'dial': {
      const [addr] = o.positionals
      if (addr === undefined) throw new UsageError('dial needs a MULTIADDR')
      out(
        `connected to ${(await json<{ peer: string }>(await callControl(c, 'dial', { body: { addr } }))).peer}`,
      )
      return 0
    }
    default:
      throw new UsageError(`unknown command ${o.command}`)
  }
}

/** Prints the serve's stream until SIGINT/SIGTERM (exit 0) or until the serve goes away (1). */
async function followViaServe(o: CliOptions, c: ControlInfo, path: string): Promise<number> {
  const stop = new AbortController()
  const onSignal = (): void => stop.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const res = await callControl(c, path, { signal: stop.signal })
    if (!res.ok) await json(res)
    let buf = ''
    const utf8 = new TextDecoder() // streaming: a character may be split between two chunks
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += utf8.decode(chunk, { stream: true })
        let nl: number
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl)
          buf = buf.slice(nl + 1)
          out(o.json ? line : toTextLine(JSON.parse(line) as HistoryLine))
        }
      }
    } catch (err) {
      // The stream broke: stopped by us (a signal), or the serve went away (reported below).
      if (!stop.signal.aborted && (err as Error).name === 'SyntaxError') throw err
    }
  } catch (err) {
    if (stop.signal.aborted) return 0
    throw err
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  if (stop.signal.aborted) return 0
  throw new Error(`parley serve (pid ${c.pid}) of this data directory stopped`)
}

function queued(o: CliOptions): number {
  process.stderr.write(
    `parley: no other peer acknowledged the message within ${o.timeoutMs / 1000} s. ` +
      `It is stored in ${o.data} and goes out on the next run, or from \`parley serve\` on that directory.\n`,
  )
  return 3
}

/** Waits (bounded) for a first peer, then reconciles with whoever is connected. */
async function settle(peer: NodePeer, o: CliOptions): Promise<void> {
  const { messenger } = peer
  if (o.peers.length > 0 || o.mdns) {
    if (messenger.net.peers().length === 0) {
      await new Promise<void>((res) => {
        const t = setTimeout(done, o.peers.length > 0 ? 5_000 : 2_000)
        const off = messenger.net.onPeers((p) => p.length > 0 && done())
        function done(): void {
          clearTimeout(t)
          off()
          res()
        }
      })
    }
  }
  await messenger.syncNow(AbortSignal.timeout(o.timeoutMs))
}

async function standalone(o: CliOptions, peer: NodePeer): Promise<number> {
  const { messenger } = peer
  if (o.command === 'send' && o.file !== undefined) return sendFileStandalone(o, peer)
  if (o.command === 'get') return getStandalone(o, peer)
  switch (o.command) {
    case 'send': {
      const room = needRoom(o)
      const text = o.positionals.join(' ')
      if (text === '') throw new UsageError('send needs the text to post')
      const posted = await messenger.post(room, text)
      try {
        const to = await messenger.waitDelivered(room, posted.seq, AbortSignal.timeout(o.timeoutMs))
        out(`${posted.message.id} delivered to ${to}`)
        return 0
      } catch {
        return queued(o)
      }
    }
    case 'read': {
      const room = needRoom(o)
      await messenger.join(room)
      await settle(peer, o)
      const seen = new Set<string>()
      const print = async (): Promise<void> => {
        for (const m of await historyOf(messenger, room)) {
          if (seen.has(m.id)) continue
          seen.add(m.id)
          out(o.json ? toJsonLine(m) : toTextLine(m))
        }
      }
      await print()
      if (!o.follow) return 0
      await deliverQueued(peer, o)
      messenger.onRoomChange((r) => r === room && void print())
      await new Promise<void>((res) => {
        process.once('SIGINT', res)
        process.once('SIGTERM', res)
      })
      return 0
    }
    case 'rooms':
      await settle(peer, o)
      for (const r of await roomList(messenger))
        out(r.topic === '' ? r.room : `${r.room}\t${r.topic}`)
      return 0
    case 'peers':
      await settle(peer, o)
      out(
        JSON.stringify(
          { people: messenger.people(), connections: messenger.connections() },
          null,
          2,
        ),
      )
      return 0
    case 'dial': {
      const [addr] = o.positionals
      if (addr === undefined) throw new UsageError('dial needs a MULTIADDR')
      const signal = AbortSignal.timeout(o.timeoutMs)
      // waits for admission, so the queued entries handed over below reach the peer
      const peer = await dialAdmitted(messenger, addr, signal)
      out(`connected to ${peer}`)
      return 0
    }
    default:
      throw new UsageError(`unknown command ${o.command}`)
  }
}
