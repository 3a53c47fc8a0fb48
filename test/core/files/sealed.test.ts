/**
 * Sealed files (src/crdt/file-seal.ts, src/core/files/sealed.ts): ciphertext chunks of exactly the
 * chunk size round-trip for every size at and around block edges, in pieces of any size; a chunk
 * that is changed, moved, cut off or opened with another key is a DecryptionError.
 */
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { newFileKey, plainSize, sealedSize, SEAL_OVERHEAD } from '../../../src/crdt/file-seal.ts'
import { openSealed, sealSource } from '../../../src/core/files/sealed.ts'
import type { FileManifest } from '../../../src/core/files/manifest.ts'

const CS = 16 * 1024
const BLOCK = CS - SEAL_OVERHEAD

async function* pieces(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let at = 0
  for (let i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!
    yield bytes.subarray(at, at + n)
    at += n
  }
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const b of it) out.push(b.slice())
  return out
}

const join = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts))

const manifestOf = (chunks: Uint8Array[]): FileManifest => ({
  name: 'sealed.bin',
  type: '',
  chunkSize: CS,
  size: chunks.reduce((n, c) => n + c.length, 0),
  hashes: new Uint8Array(32 * chunks.length),
})

describe('sealed files', () => {
  it('[SEALF1] round-trips every size around block edges, in pieces of any size', async () => {
    for (const size of [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK, 3 * BLOCK + 7]) {
      const plain = new Uint8Array(randomBytes(size))
      const key = newFileKey()
      const chunks = await collect(sealSource(pieces(plain, [1000, 7, 40_000]), key, CS))
      chunks.slice(0, -1).forEach((c) => expect(c.length).toBe(CS))
      const m = manifestOf(chunks)
      expect(m.size).toBe(sealedSize(size, CS))
      expect(plainSize(m.size, CS)).toBe(size)
      const stored = join(chunks)
      if (size > 64)
        expect(Buffer.from(stored).indexOf(Buffer.from(plain.subarray(0, 64)))).toBe(-1)
      const opened = await collect(openSealed(pieces(stored, [5000, 33_000]), key, m))
      expect(Buffer.compare(join(opened), plain)).toBe(0)
    }
  })

  it('[SEALF2] changed, moved, cut-off chunks and another key: DecryptionError', async () => {
    const plain = new Uint8Array(randomBytes(3 * BLOCK))
    const key = newFileKey()
    const chunks = await collect(sealSource(pieces(plain, [BLOCK]), key, CS))
    const m = manifestOf(chunks)
    const open = (parts: Uint8Array[], k = key, man = m) =>
      collect(openSealed(pieces(join(parts), [CS]), k, man))
    const flipped = chunks.map((c) => c.slice())
    flipped[1]![100]! ^= 1
    await expect(open(flipped)).rejects.toMatchObject({ name: 'DecryptionError' })
    await expect(open([chunks[1]!, chunks[0]!, chunks[2]!])).rejects.toMatchObject({
      name: 'DecryptionError',
    })
    await expect(open(chunks, newFileKey())).rejects.toMatchObject({ name: 'DecryptionError' })
    // the first two chunks posing as a whole file: the second was not sealed as the last
    const two = chunks.slice(0, 2)
    await expect(open(two, key, manifestOf(two))).rejects.toMatchObject({ name: 'DecryptionError' })
    // the manifest promises three chunks, the store yields two
    await expect(open(two)).rejects.toMatchObject({ name: 'DecryptionError' })
  })
})
