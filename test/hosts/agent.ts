/**
 * Runs on a host of a site (inside its network namespace) next to its `parley serve` and talks to
 * the serve's loopback control API for the harness, which cannot reach that loopback from outside:
 * the same calls the CLI makes (`send` waits for a peer's acknowledgement, `read` is the room's
 * whole history). One JSON request a line on stdin, one JSON answer a line on stdout, by `n`.
 * The serve may be killed and restarted at any moment: control.json is read again for each call.
 *
 *   node --import tsx test/hosts/agent.ts DATA-DIR
 *   → {"n":1,"op":"send","room":"r","text":"hi","timeoutMs":3000}
 *   ← {"n":1,"status":200,"body":{"id":"…","seq":3,"deliveredTo":"12D3…"}}
 *   ← {"n":1,"error":"ECONNREFUSED"}   (no answer from the serve: the request may or may not have
 *                                      reached it, except for ECONNREFUSED and NOSERVE)
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

export interface AgentRequest {
  n: number
  op: 'send' | 'read' | 'peers'
  room?: string
  text?: string
  timeoutMs?: number
}

export interface AgentAnswer {
  n: number
  status?: number
  body?: unknown
  /** The call got no answer: a system error code (ECONNREFUSED: nothing was sent) or a message. */
  error?: string
}

const dataDir = process.argv[2]
if (dataDir === undefined) throw new Error('usage: agent.ts DATA-DIR')

async function call(req: AgentRequest): Promise<AgentAnswer> {
  let info: { port: number; token: string }
  try {
    info = JSON.parse(readFileSync(join(dataDir!, 'control.json'), 'utf8')) as typeof info
  } catch {
    return { n: req.n, error: 'NOSERVE' }
  }
  const path =
    req.op === 'read' ? `read?room=${encodeURIComponent(req.room ?? '')}` : (req.op as string)
  const body =
    req.op === 'send'
      ? JSON.stringify({ room: req.room, text: req.text, timeoutMs: req.timeoutMs })
      : undefined
  try {
    const res = await fetch(`http://127.0.0.1:${info.port}/api/ctl/${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout((req.timeoutMs ?? 10_000) + 20_000),
    })
    return { n: req.n, status: res.status, body: (await res.json()) as unknown }
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause
    return { n: req.n, error: cause?.code ?? cause?.message ?? (err as Error).message }
  }
}

const rl = createInterface({ input: process.stdin })
rl.on('line', (line) => {
  const req = JSON.parse(line) as AgentRequest
  void call(req).then((a) => process.stdout.write(JSON.stringify(a) + '\n'))
})
rl.on('close', () => process.exit(0))
