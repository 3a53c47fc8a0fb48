/**
 * SHA-256 of received chunks off the main thread: WebCrypto's `digest` runs on Node's thread pool
 * and on the browser's own threads, so a receiver's event loop is free for the network while a
 * chunk is checked. Absent where the platform has no `crypto.subtle` (a page served over plain
 * http from a LAN address is not a secure context): callers then hash in the thread. Node peers
 * hash in the thread on purpose (src/node/peer.ts): there node:crypto is native too, and handing
 * each chunk to the thread pool cost as much main-thread time in garbage collection as it saved.
 */
export type AsyncSha256 = (data: Uint8Array) => Promise<Uint8Array>

export function subtleSha256(): AsyncSha256 | undefined {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle
  if (subtle === undefined) return undefined
  return async (data) =>
    new Uint8Array(await subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>))
}
