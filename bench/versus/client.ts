/**
 * A client of a central chat server, as its own process (forked by bench/versus.ts): an XMPP
 * group-chat client of Prosody (xmpp.js; history through its message archive, XEP-0313), or a Yjs
 * client of a y-websocket relay (the room one Y.Array of message texts). Messages are the bench's
 * 200-byte texts, which say their seq.
 */
import { client as xmppClient, xml, type Client, type Element } from '@xmpp/client'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { benchText } from '../peer/live.ts'
import { now, sleep, until } from '../lib/clock.ts'
import { MAM_PAGE, type CatchupTimes, type Endpoint, type VersusCommands } from './protocol.ts'

const MUC = 'http://jabber.org/protocol/muc'
const MAM = 'urn:xmpp:mam:2'
const RSM = 'http://jabber.org/protocol/rsm'

/** The seq in a bench text ("bench message 12 xxx…"). */
const seqOf = (text: string): number => Number(text.split(' ', 3)[2])

interface Backend {
  /** Resolves once the message is handed to the connection. */
  send(text: string): Promise<void>
  /** Pages of history, newest first, until `n` messages are held or there is no more. */
  history(n: number, onPage: (held: number) => void): Promise<number>
  close(): Promise<void>
}

type OnMessage = (text: string) => void

/** XMPP multi-user chat on Prosody: join without history, archive pages of `before`. */
async function connectXmpp(ep: Endpoint, nick: string, onMessage: OnMessage): Promise<Backend> {
  const x: Client = xmppClient({ service: `xmpp://127.0.0.1:${ep.port}`, domain: 'localhost' })
  const roomJid = `${ep.room}@conference.localhost`
  const pages = new Map<string, string[]>()
  let joined: () => void = () => undefined
  const isJoined = new Promise<void>((resolve) => (joined = resolve))
  x.on('error', (err) => console.error(`[xmpp ${nick}]`, err))
  x.on('stanza', (el: Element) => {
    if (process.env.VERSUS_DEBUG) console.error(`[xmpp ${nick}] <<`, String(el).slice(0, 200))
    if (el.is('presence') && el.attrs.from === `${roomJid}/${nick}`) return joined()
    if (!el.is('message')) return
    const result = el.getChild('result', MAM)
    if (result !== undefined) {
      const body = result.getChild('forwarded')?.getChild('message')?.getChildText('body')
      if (body != null) pages.get(result.attrs.queryid ?? '')?.push(body)
      return
    }
    const body = el.getChildText('body')
    if (el.attrs.type === 'groupchat' && body !== null) onMessage(body)
  })
  if (process.env.VERSUS_DEBUG)
    x.on('status' as 'online', (st) => console.error(`[xmpp ${nick}] ${String(st)}`))
  await x.start()
  const history = xml('history', { maxstanzas: '0' })
  await x.send(xml('presence', { to: `${roomJid}/${nick}` }, xml('x', { xmlns: MUC }, history)))
  await isJoined
  let q = 0
  return {
    send: (text) =>
      x.send(xml('message', { type: 'groupchat', to: roomJid }, xml('body', {}, text))),
    async history(n, onPage) {
      let held = 0
      let before = ''
      for (let max = 50; held < n; max = MAM_PAGE) {
        const queryid = `q${++q}`
        pages.set(queryid, [])
        const set = xml(
          'set',
          { xmlns: RSM },
          xml('max', {}, String(max)),
          xml('before', {}, before),
        )
        const iq = xml(
          'iq',
          { type: 'set', to: roomJid },
          xml('query', { xmlns: MAM, queryid }, set),
        )
        const res = await x.iqCaller.request(iq, 120_000)
        held += pages.get(queryid)!.length
        pages.delete(queryid)
        onPage(held)
        const fin = res.getChild('fin', MAM)
        const first = fin?.getChild('set', RSM)?.getChildText('first')
        if (fin?.attrs.complete === 'true' || first == null) break
        before = first
      }
      return held
    },
    // xmpp.js 0.14 can throw from its socket handler after stop() (its parser is gone); the
    // process exits right after close, which closes the socket just as well.
    close: async () => undefined,
  }
}

/** A Yjs document synced through y-websocket: each message one push to a Y.Array. */
async function connectYws(ep: Endpoint, onMessage: OnMessage): Promise<Backend> {
  const doc = new Y.Doc()
  const list = doc.getArray<string>('messages')
  const provider = new WebsocketProvider(`ws://127.0.0.1:${ep.port}`, ep.room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  })
  await new Promise<void>((resolve) =>
    provider.on('sync', (synced: boolean) => (synced ? resolve() : undefined)),
  )
  list.observe((ev, tr) => {
    if (tr.local) return
    for (const d of ev.changes.delta)
      if (Array.isArray(d.insert)) for (const t of d.insert) onMessage(t as string)
  })
  return {
    send: async (text) => list.push([text]),
    // The whole document arrives with the sync; nothing is paged.
    history: async (_n, onPage) => {
      onPage(list.length)
      return list.length
    },
    close: async () => {
      provider.destroy()
      doc.destroy()
    },
  }
}

let backend: Backend | undefined
let shown: Map<number, number> | undefined

const need = (): Backend => {
  if (backend === undefined) throw new Error('not connected')
  return backend
}

function connect(ep: Endpoint, nick: string): Promise<Backend> {
  const onMessage: OnMessage = (text) => {
    const seq = seqOf(text)
    if (shown !== undefined && !shown.has(seq)) shown.set(seq, now())
  }
  return ep.system === 'xmpp' ? connectXmpp(ep, nick, onMessage) : connectYws(ep, onMessage)
}

type Handlers = {
  [C in keyof VersusCommands]: (
    args: VersusCommands[C]['args'],
  ) => Promise<VersusCommands[C]['result']>
}

const handlers: Handlers = {
  async connect(args) {
    const t0 = now()
    backend = await connect(args, args.nick)
    return { ms: now() - t0 }
  },
  async watch() {
    shown = new Map()
    return {}
  },
  async send({ count, rate, bytes }) {
    const b = need()
    const start = now() + 10
    const records: { seq: number; tCall: number }[] = []
    const pending: Promise<void>[] = []
    for (let i = 0; i < count; i++) {
      await sleep(start + (i * 1000) / rate - now())
      records.push({ seq: i, tCall: now() })
      pending.push(b.send(benchText(i, bytes)))
    }
    await Promise.all(pending)
    return { records }
  },
  async flood({ count, bytes }) {
    const b = need()
    const tStart = now()
    const pending = new Set<Promise<void>>()
    for (let i = 0; i < count; i++) {
      const p = b.send(benchText(i, bytes)).finally(() => pending.delete(p))
      pending.add(p)
      if (pending.size >= 1024) await Promise.race(pending)
    }
    await Promise.all(pending)
    return { tStart, tSent: now() }
  },
  async waitCount({ n, timeoutMs }) {
    await until(() => (shown?.size ?? 0) >= n, timeoutMs, `${n} messages`, 2).catch(() => undefined)
    return { t: now(), count: shown?.size ?? 0 }
  },
  async received() {
    return { shown: [...(shown ?? new Map<number, number>())] }
  },
  async catchup(args) {
    const t0 = now()
    backend = await connect(args, args.nick)
    const out: CatchupTimes = { connected: now() - t0, newest50: NaN, all: NaN, count: 0 }
    const n = Math.min(args.n, 50)
    out.count = await backend.history(args.n, (held) => {
      if (held >= n && Number.isNaN(out.newest50)) out.newest50 = now() - t0
    })
    out.all = now() - t0
    return out
  },
  async cpu() {
    const u = process.cpuUsage()
    return { ms: (u.user + u.system) / 1000 }
  },
  async stop() {
    await backend?.close()
    backend = undefined
    setTimeout(() => process.exit(0), 10)
    return {}
  },
}

process.on('message', (req: { id: number; cmd: keyof VersusCommands; args: never }) => {
  const handler = handlers[req.cmd] as (args: unknown) => Promise<unknown>
  handler(req.args).then(
    (result) => process.send!({ id: req.id, ok: true, result }),
    (err: unknown) =>
      process.send!({
        id: req.id,
        ok: false,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      }),
  )
})
