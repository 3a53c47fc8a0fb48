/**
 * The browser's crypto worker, started by src/core/browser.ts through `createOffloadCrypto`
 * (Vite bundles it from `new Worker(new URL('./crypto-worker.ts', import.meta.url))`).
 */
import { serveHistoryCrypto, type CryptoScope } from './crypto-serve.ts'

serveHistoryCrypto(globalThis as unknown as CryptoScope)
