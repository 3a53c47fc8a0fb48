/**
 * Node 20 lacks two APIs that libp2p 3 uses. Import this module first, wherever Node starts
 * (the CLI entry point and vitest's setup), so that Parley runs on Node 20.19+ with no flags.
 * - `Promise.withResolvers` (Node 22): called throughout libp2p 3.
 * - global `WebSocket` (Node 22; behind a flag on 20): `@libp2p/websockets` dials with it.
 */
import { WebSocket as WsWebSocket } from 'ws'
import { createLogger } from '../net/logger.ts'

interface Resolvers<T> {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}

const P = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> }
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = function withResolvers<T>(): Resolvers<T> {
    let resolve!: Resolvers<T>['resolve']
    let reject!: Resolvers<T>['reject']
    const promise = new Promise<T>((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
}

const log = createLogger('parley:node:websocket')

/**
 * `ws` is an EventEmitter: an 'error' (a refused or reset dial) emitted while no listener is attached
 * — libp2p detaches its own once a dial is aborted or settled — is thrown as an uncaught exception and
 * would end the whole peer (seen as ECONNREFUSED in test/net/browser-admission.test.ts). Browsers
 * never throw for a WebSocket error, so neither does this one: it is logged; listeners still get it.
 */
class NodeWebSocket extends WsWebSocket {
  constructor(...args: ConstructorParameters<typeof WsWebSocket>) {
    super(...args)
    this.on('error', (err) => log('websocket %s: %s', String(args[0]), err.message))
  }
}

const g = globalThis as { WebSocket?: unknown }
if (typeof g.WebSocket === 'undefined') g.WebSocket = NodeWebSocket
