import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'

/** A loopback port that refuses connections: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('Node polyfills (src/node/polyfill.ts, loaded by the test setup)', () => {
  it('[POLY1] a refused WebSocket dial with no error listener closes; nothing is thrown uncaught', async () => {
    const port = await closedPort()
    const ws = new WebSocket(`ws://127.0.0.1:${port}`)
    const code = await new Promise<number>((resolve) =>
      ws.addEventListener('close', (e) => resolve(e.code)),
    )
    expect(ws.readyState).toBe(WebSocket.CLOSED)
    expect(code).toBe(1006)
  })
})
