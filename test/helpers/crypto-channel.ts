/**
 * The browser's crypto worker in Node: the real worker side (`serveHistoryCrypto`) on one end of a
 * MessageChannel (structured clone and transfer as between a page and its worker), and a
 * {@link CryptoPort} for `createOffloadCrypto` on the other.
 */
import type { CryptoPort } from '../../src/core/crypto-offload.ts'
import { serveHistoryCrypto } from '../../src/core/crypto-serve.ts'

/** A worker made of a MessageChannel: port2 runs the real worker side; counts requests. */
export function channelWorker(): { port: CryptoPort; requests: () => number; die: () => void } {
  const { port1, port2 } = new MessageChannel()
  let requests = 0
  port2.addEventListener('message', () => (requests += 1))
  serveHistoryCrypto(port2)
  port2.start()
  port1.start()
  const errors = new EventTarget()
  const port: CryptoPort = {
    postMessage: (m, t) => port1.postMessage(m, t),
    addEventListener: (type: string, listener: (ev: MessageEvent) => void) => {
      if (type === 'message') port1.addEventListener('message', listener)
      else errors.addEventListener(type, listener as (ev: Event) => void)
    },
    terminate: () => {
      port1.close()
      port2.close()
    },
  }
  return {
    port,
    requests: () => requests,
    die: () => {
      port2.close()
      errors.dispatchEvent(new Event('error'))
    },
  }
}
