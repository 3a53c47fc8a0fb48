/** File sharing surfaces: file frames on the request protocol and manifests (network and disk). */
import {
  decodeManifest,
  encodeManifest,
  type FileManifest,
} from '../../../src/core/files/manifest.ts'
import { decodeFileFrame, encodeFileFrame, type FileFrame } from '../../../src/core/files/wire.ts'
import { equalBytes } from '../../../src/crdt/entry.ts'
import { nodeCrypto } from '../../../src/node/crypto-node.ts'
import { InvariantError, type Surface } from '../engine.ts'

/** A 3-chunk manifest (16 KiB chunks), a 0-byte file's, and a long-named one's. */
export function validManifests(): Uint8Array[] {
  const hashes = (n: number): Uint8Array => {
    const out = new Uint8Array(32 * n)
    for (let i = 0; i < n; i++) out.set(nodeCrypto.sha256(Uint8Array.of(i)), 32 * i)
    return out
  }
  const ms: FileManifest[] = [
    {
      name: 'report.pdf',
      size: 40_000,
      type: 'application/pdf',
      chunkSize: 16_384,
      hashes: hashes(3),
    },
    { name: 'empty', size: 0, type: '', chunkSize: 1024 * 1024, hashes: hashes(0) },
    {
      name: `${'é'.repeat(127)}x`,
      size: 1,
      type: 'text/plain',
      chunkSize: 2 ** 21,
      hashes: hashes(1),
    },
  ]
  return ms.map(encodeManifest)
}

export function manifestSurface(): Surface {
  return {
    name: 'manifest',
    description:
      'decodeManifest (src/core/files/manifest.ts): manifest parts from peers, and manifests read back from SQLite/IndexedDB; round trip must be exact',
    allowed: ['MalformedManifestError'],
    seeds: validManifests(),
    run(input) {
      const m = decodeManifest(input)
      if (!equalBytes(encodeManifest(m), input)) throw new InvariantError('re-encodes differently')
      return 'decoded'
    },
  }
}

export function fileFrameSurface(): Surface {
  const id = 'ab'.repeat(32)
  const frames: FileFrame[] = [
    { type: 'manifest-request', id },
    { type: 'have-request', id },
    { type: 'chunks-request', id, indices: [0, 2, 5] },
    { type: 'offer', id, full: true },
    { type: 'manifest-part', id, total: 200, offset: 100, bytes: new Uint8Array(100).fill(3) },
    { type: 'have', id, count: 11, bitmap: Uint8Array.of(0xff, 0x03) },
    { type: 'chunk', id, index: 4, bytes: new Uint8Array(64).fill(5) },
    { type: 'ack', id, stage: 'complete' },
    { type: 'file-error', id, code: 'not-held' },
  ]
  return {
    name: 'file-frame',
    description:
      'decodeFileFrame (src/core/files/wire.ts): every file request and response frame; round trip must be exact',
    allowed: ['MalformedFileFrameError'],
    seeds: frames.map(encodeFileFrame),
    run(input) {
      const f = decodeFileFrame(input)
      if (!equalBytes(encodeFileFrame(f), input)) throw new InvariantError('re-encodes differently')
      return f.type
    },
  }
}
