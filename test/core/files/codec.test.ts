/** Manifests, file frames and attachment records: strict decoding of what peers send. */
import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { subtleSha256 } from '../../../src/core/files/hash.ts'
import {
  decodeManifest,
  encodeManifest,
  MAX_MANIFEST_BYTES,
  type FileManifest,
} from '../../../src/core/files/manifest.ts'
import {
  chunkFrame,
  decodeFileFrame,
  encodeFileFrame,
  isFileFrame,
  type FileFrame,
} from '../../../src/core/files/wire.ts'
import { isAttachment, isChatMessage } from '../../../src/crdt/schema.ts'
import { previewOf, PREVIEW_CHARS } from '../../../src/core/files/long-text.ts'

const id = 'ab'.repeat(32)
const manifest = (over: Partial<FileManifest> = {}): FileManifest => ({
  name: 'photo.jpg',
  size: 3 * 65536 + 1,
  type: 'image/jpeg',
  chunkSize: 65536,
  hashes: new Uint8Array(4 * 32).fill(7),
  ...over,
})

describe('file manifests', () => {
  it('[FM1] round-trip, and one canonical encoding', () => {
    const bytes = encodeManifest(manifest())
    expect(decodeManifest(bytes)).toEqual(manifest())
    expect(encodeManifest(decodeManifest(bytes))).toEqual(bytes)
  })

  it('[FM2] refuses path names, wrong hash lists, odd chunk sizes, trailing bytes', () => {
    const bad = (m: Partial<FileManifest>): unknown => {
      try {
        return encodeManifest(manifest(m))
      } catch (err) {
        return (err as Error).name
      }
    }
    expect(bad({ name: '../etc/passwd' })).toBe('MalformedManifestError')
    expect(bad({ name: '' })).toBe('MalformedManifestError')
    expect(bad({ hashes: new Uint8Array(3 * 32) })).toBe('MalformedManifestError')
    expect(bad({ chunkSize: 65535 })).toBe('MalformedManifestError')
    expect(bad({ chunkSize: 8 * 1024 * 1024 })).toBe('MalformedManifestError')
    const bytes = encodeManifest(manifest())
    const trailing = new Uint8Array([...bytes, 0])
    for (const b of [trailing, bytes.subarray(0, 30), new Uint8Array(MAX_MANIFEST_BYTES + 1)]) {
      expect(() => decodeManifest(b)).toThrow(
        expect.objectContaining({ name: 'MalformedManifestError' }),
      )
    }
  })

  it('[FM3] refuses a media type that runs past the end (was read short and accepted; npm run fuzz)', () => {
    const bytes = encodeManifest(manifest({ size: 0, type: '', hashes: new Uint8Array() }))
    const dv = new DataView(bytes.buffer, bytes.byteOffset)
    dv.setUint16(18 + 'photo.jpg'.length, 0x1000) // the type length, with no type bytes after it
    expect(() => decodeManifest(bytes)).toThrow(
      expect.objectContaining({ name: 'MalformedManifestError' }),
    )
  })
})

describe('file frames', () => {
  const frames: FileFrame[] = [
    { type: 'manifest-request', id },
    { type: 'have-request', id },
    { type: 'chunks-request', id, indices: [0, 5, 4_000_000] },
    { type: 'offer', id, full: true },
    { type: 'manifest-part', id, total: 10, offset: 4, bytes: new Uint8Array([1, 2, 3]) },
    { type: 'have', id, count: 9, bitmap: new Uint8Array([255, 1]) },
    { type: 'chunk', id, index: 3, bytes: new Uint8Array([9, 9]) },
    { type: 'ack', id, stage: 'complete' },
    { type: 'file-error', id, code: 'not-held' },
  ]

  it('[FF1] every frame round-trips and is told apart from sync frames', () => {
    for (const f of frames) {
      const bytes = encodeFileFrame(f)
      expect(isFileFrame(bytes)).toBe(true)
      expect(decodeFileFrame(bytes)).toEqual(f)
    }
    expect(isFileFrame(new Uint8Array([1, 1]))).toBe(false)
  })

  it('[FF3] a chunk frame filled in place is the encoded chunk frame, byte for byte', () => {
    const bytes = new Uint8Array(randomBytes(1_000))
    const { frame, body } = chunkFrame(id, 7, bytes.length)
    body.set(bytes)
    expect(body.buffer).toBe(frame.buffer) // the chunk goes straight into the frame
    expect(frame).toEqual(encodeFileFrame({ type: 'chunk', id, index: 7, bytes }))
    expect(decodeFileFrame(frame)).toEqual({ type: 'chunk', id, index: 7, bytes })
  })

  it('[FF2] malformed frames throw MalformedFileFrameError', () => {
    const bad = [
      new Uint8Array([0x40]),
      new Uint8Array([0x40, 2, ...new Uint8Array(32)]),
      new Uint8Array([0x70, 1, ...new Uint8Array(32)]),
      new Uint8Array([0x42, 1, ...new Uint8Array(32)]), // no indices
      new Uint8Array([0x42, 1, ...new Uint8Array(32), 0, 0, 0, 1, 0, 0, 0, 1]), // duplicate
      new Uint8Array([0x42, 1, ...new Uint8Array(32), ...new Uint8Array(17 * 4)]),
      new Uint8Array([0x45, 1, ...new Uint8Array(32), 0, 0, 0, 9, 1]), // bitmap too short
      new Uint8Array([0x44, 1, ...new Uint8Array(32), 0, 0, 0, 2, 0, 0, 0, 1, 1, 2]), // past total
      new Uint8Array([0x43, 1, ...new Uint8Array(32), 2]),
    ]
    for (const b of bad) {
      expect(() => decodeFileFrame(b)).toThrow(
        expect.objectContaining({ name: 'MalformedFileFrameError' }),
      )
    }
  })
})

describe('attachment records', () => {
  const att = { id, name: 'a.pdf', size: 10, type: 'application/pdf', kind: 'file' }
  const msg = {
    id: 'AAAAAAAAAAAA.1',
    room: 'general',
    author: 'A'.repeat(43),
    wall: 1_700_000_000_000,
    count: 0,
    text: '',
  }

  it('[AT1] well-formed attachments pass, on their own and in a message', () => {
    expect(isAttachment(att)).toBe(true)
    expect(isAttachment({ ...att, kind: 'text', thumb: 'data:image/webp;base64,AAAA' })).toBe(true)
    expect(isChatMessage({ ...msg, file: att })).toBe(true)
    expect(isChatMessage(msg)).toBe(true)
  })

  it('[AT2] bad attachments are refused: ids, sizes, kinds, thumbnails, extra keys', () => {
    const bad = [
      { ...att, id: 'AB'.repeat(32) },
      { ...att, size: -1 },
      { ...att, size: 2 ** 53 },
      { ...att, kind: 'exe' },
      { ...att, name: '' },
      { ...att, name: 'x'.repeat(256) },
      { ...att, type: 'a\nb' },
      { ...att, thumb: 'javascript:alert(1)' },
      { ...att, thumb: 'data:image/png;base64,' + 'A'.repeat(64 * 1024) },
      { ...att, thumb: undefined },
      { ...att, extra: 1 },
    ]
    for (const b of bad) expect(isAttachment(b)).toBe(false)
    expect(isChatMessage({ ...msg, file: undefined })).toBe(false)
    expect(isChatMessage({ ...msg, file: { ...att, size: '10' } })).toBe(false)
  })

  it('[AT3] a long text preview never splits a surrogate pair', () => {
    const text = 'a'.repeat(PREVIEW_CHARS - 1) + '🚀' + 'b'.repeat(10)
    expect(previewOf(text)).toBe('a'.repeat(PREVIEW_CHARS - 1))
    expect(previewOf('short')).toBe('short')
  })
})

describe('chunk hashing off the main thread', () => {
  it('[FH1] WebCrypto SHA-256 gives the same hashes as node:crypto, also for views into larger buffers', async () => {
    const hash = subtleSha256()
    expect(hash).toBeDefined()
    const big = new Uint8Array(randomBytes(3 * 65536 + 7))
    for (const view of [big, big.subarray(65536, 2 * 65536 + 3), new Uint8Array(0)]) {
      const want = new Uint8Array(createHash('sha256').update(view).digest())
      expect(await hash!(view)).toEqual(want)
    }
  })
})
