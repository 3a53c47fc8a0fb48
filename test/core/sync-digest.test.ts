/**
 * The room digest anti-entropy compares (src/core/sync.ts): peers of different versions must get
 * the same bytes from the same authors, in any order.
 */
import { describe, expect, it } from 'vitest'
import { nobleCrypto } from '../../src/crdt/crypto.ts'
import { roomDigest } from '../../src/core/sync-frames.ts'
import type { AuthorState } from '../../src/core/store.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('room digest', () => {
  it('[DIGEST1] is the bytes every earlier version computed, whatever the order of the authors', () => {
    const authors: AuthorState[] = [2, 1, 3].map((k) => ({
      author: new Uint8Array(32).fill(k),
      contig: k * 1000,
      // Seqs above 2^16 and 2^24: every byte of the big-endian u32 counts.
      head: {
        author: new Uint8Array(32).fill(k),
        seq: k * 70_000 + 5,
        hash: new Uint8Array(32).fill(100 + k),
        sig: new Uint8Array(64),
      },
    }))
    // Computed by the digest of 1a0304a (a byte array built element by element).
    const expected = '940e9276ba835c51f2dd9f975ec55058c9cd618a6d4516f9bcb042acced13ee3'
    expect(hex(roomDigest(authors, nobleCrypto))).toBe(expected)
    expect(hex(roomDigest([...authors].reverse(), nobleCrypto))).toBe(expected)
    expect(hex(roomDigest([], nobleCrypto))).toBe(hex(nobleCrypto.sha256(new Uint8Array(0))))
  })
})
