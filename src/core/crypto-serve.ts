/**
 * The crypto worker's side of src/core/crypto-offload.ts: answers hash batches and signature
 * checks with {@link nobleCrypto}, the same code the main thread would run. Kept apart from the
 * client so that the worker's bundle holds only this and @noble.
 */
import { nobleCrypto } from '../crdt/crypto.ts'

export const HASH_BYTES = 32

/** The worker's end: a `DedicatedWorkerGlobalScope`, or a `MessagePort` in tests. */
export interface CryptoScope {
  postMessage(message: unknown, transfer: Transferable[]): void
  addEventListener(type: 'message', listener: (ev: MessageEvent) => void): void
}

/** Entries packed into one buffer: entry i is `data[ends[i-1] … ends[i])`. */
export interface HashRequest {
  id: number
  op: 'sha256'
  data: ArrayBuffer
  ends: Uint32Array
}
export interface VerifyRequest {
  id: number
  op: 'verify'
  key: Uint8Array
  sig: Uint8Array
  msg: Uint8Array
}
export type Reply =
  { id: number; hashes: ArrayBuffer } | { id: number; ok: boolean } | { id: number; error: string }

/** Answers `createOffloadCrypto`'s requests on `scope` with {@link nobleCrypto}. */
export function serveHistoryCrypto(scope: CryptoScope): void {
  scope.addEventListener('message', (ev) => {
    const r = ev.data as HashRequest | VerifyRequest
    void answer(r).then(
      ([reply, transfer]) => scope.postMessage(reply, transfer),
      (err: unknown) => scope.postMessage({ id: r.id, error: String(err) }, []),
    )
  })
}

async function answer(r: HashRequest | VerifyRequest): Promise<[Reply, Transferable[]]> {
  if (r.op === 'verify')
    return [{ id: r.id, ok: await nobleCrypto.verify(r.key, r.sig, r.msg) }, []]
  if (r.op !== 'sha256' || !(r.ends instanceof Uint32Array)) throw new TypeError('bad request')
  const data = new Uint8Array(r.data)
  const out = new Uint8Array(r.ends.length * HASH_BYTES)
  let start = 0
  for (const [i, end] of r.ends.entries()) {
    if (end < start || end > data.length) throw new RangeError('bad entry bounds')
    out.set(nobleCrypto.sha256(data.subarray(start, end)), i * HASH_BYTES)
    start = end
  }
  return [{ id: r.id, hashes: out.buffer }, [out.buffer]]
}
