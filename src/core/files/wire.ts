/**
 * File transfer frames, carried by the same request protocol as sync (`net.request`). Their first
 * byte is ≥ {@link FILE_FRAME_MIN}, which no sync frame uses, so the Messenger's one request handler
 * tells them apart ({@link isFileFrame}).
 *
 * ```
 * requester                                   holder
 *   ManifestRequest { id }              ──▶
 *                                       ◀──   ManifestPart { total, offset, bytes } × n  (or Error)
 *   HaveRequest { id }                  ──▶
 *                                       ◀──   Have { count, bitmap }                     (or Error)
 *   ChunksRequest { id, indices ≤ 16 }  ──▶
 *                                       ◀──   Chunk { index, bytes } × n                 (or Error)
 *   Offer { id, full }                  ──▶   fetches the manifest (and, if `full` and it keeps
 *                                       ◀──   Ack 'manifest' [, Ack 'complete']          files, the file)
 * ```
 * Layout: `u8 type | u8 version | 32-byte id | fields`, big-endian integers. Pure; decoding is strict
 * and throws only {@link MalformedFileFrameError}.
 */
import { MalformedFileFrameError } from './errors.ts'

/** Most chunks asked for in one request. */
export const MAX_CHUNKS_PER_REQUEST = 16
/** Largest manifest part in one frame. */
export const MANIFEST_PART_BYTES = 2 * 1024 * 1024

export type FileFrame =
  | { type: 'manifest-request'; id: string }
  | { type: 'have-request'; id: string }
  | { type: 'chunks-request'; id: string; indices: number[] }
  | { type: 'offer'; id: string; full: boolean }
  | { type: 'manifest-part'; id: string; total: number; offset: number; bytes: Uint8Array }
  | { type: 'have'; id: string; count: number; bitmap: Uint8Array }
  | { type: 'chunk'; id: string; index: number; bytes: Uint8Array }
  | { type: 'ack'; id: string; stage: 'manifest' | 'complete' }
  | { type: 'file-error'; id: string; code: 'not-held' | 'refused' | 'malformed' | 'failed' }

/** First byte of the first file frame type; sync frames use 1–9. */
export const FILE_FRAME_MIN = 0x40
const VERSION = 1
// Index + FILE_FRAME_MIN is the frame's first byte: append only.
// prettier-ignore
const TYPES: readonly FileFrame['type'][] = [
  'manifest-request', 'have-request', 'chunks-request', 'offer', 'manifest-part', 'have', 'chunk',
  'ack', 'file-error',
]
const STAGES = ['manifest', 'complete'] as const
const CODES = ['not-held', 'refused', 'malformed', 'failed'] as const
const HEADER = 2 + 32

/** Whether a request frame is a file frame (else it is a sync frame). */
export const isFileFrame = (bytes: Uint8Array): boolean =>
  bytes.length > 0 && bytes[0]! >= FILE_FRAME_MIN && bytes[0]! < FILE_FRAME_MIN + 0x20

export function encodeFileFrame(f: FileFrame): Uint8Array {
  const extra = bodyLength(f)
  const out = new Uint8Array(HEADER + extra)
  const dv = new DataView(out.buffer)
  out[0] = FILE_FRAME_MIN + TYPES.indexOf(f.type)
  out[1] = VERSION
  out.set(fromHex(f.id), 2)
  const at = HEADER
  switch (f.type) {
    case 'manifest-request':
    case 'have-request':
      break
    case 'chunks-request':
      f.indices.forEach((i, k) => dv.setUint32(at + 4 * k, i))
      break
    case 'offer':
      out[at] = f.full ? 1 : 0
      break
    case 'manifest-part':
      dv.setUint32(at, f.total)
      dv.setUint32(at + 4, f.offset)
      out.set(f.bytes, at + 8)
      break
    case 'have':
      dv.setUint32(at, f.count)
      out.set(f.bitmap, at + 4)
      break
    case 'chunk':
      dv.setUint32(at, f.index)
      out.set(f.bytes, at + 4)
      break
    case 'ack':
      out[at] = STAGES.indexOf(f.stage)
      break
    case 'file-error':
      out[at] = CODES.indexOf(f.code)
      break
  }
  return out
}

/**
 * A chunk frame for a chunk of `length` bytes, header written, and `body`: the view of the frame
 * where the chunk's bytes go. Reading the chunk straight into `body` saves copying it into the frame.
 */
export function chunkFrame(
  id: string,
  index: number,
  length: number,
): { frame: Uint8Array; body: Uint8Array } {
  const frame = new Uint8Array(HEADER + 4 + length)
  frame[0] = FILE_FRAME_MIN + TYPES.indexOf('chunk')
  frame[1] = VERSION
  frame.set(fromHex(id), 2)
  new DataView(frame.buffer).setUint32(HEADER, index)
  return { frame, body: frame.subarray(HEADER + 4) }
}

function bodyLength(f: FileFrame): number {
  switch (f.type) {
    case 'manifest-request':
    case 'have-request':
      return 0
    case 'chunks-request':
      if (f.indices.length === 0 || f.indices.length > MAX_CHUNKS_PER_REQUEST)
        throw bad('chunk count')
      return 4 * f.indices.length
    case 'manifest-part':
      return 8 + f.bytes.length
    case 'have':
      return 4 + f.bitmap.length
    case 'chunk':
      return 4 + f.bytes.length
    default:
      return 1
  }
}

export function decodeFileFrame(bytes: Uint8Array): FileFrame {
  const type = TYPES[(bytes[0] ?? 0) - FILE_FRAME_MIN]
  if (type === undefined || bytes[1] !== VERSION || bytes.length < HEADER) throw bad('header')
  const id = toHex(bytes.subarray(2, HEADER))
  const body = bytes.subarray(HEADER)
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength)
  const need = (n: number, exact = true): void => {
    if (exact ? body.length !== n : body.length < n) throw bad(`${type} length`)
  }
  switch (type) {
    case 'manifest-request':
    case 'have-request':
      need(0)
      return { type, id }
    case 'chunks-request': {
      const n = body.length / 4
      if (!Number.isInteger(n) || n < 1 || n > MAX_CHUNKS_PER_REQUEST) throw bad('chunk count')
      const indices = Array.from({ length: n }, (_, k) => dv.getUint32(4 * k))
      if (new Set(indices).size !== n) throw bad('duplicate chunks')
      return { type, id, indices }
    }
    case 'offer':
      need(1)
      if (body[0]! > 1) throw bad('offer flags')
      return { type, id, full: body[0] === 1 }
    case 'manifest-part': {
      need(8, false)
      const total = dv.getUint32(0)
      const offset = dv.getUint32(4)
      const part = body.subarray(8)
      if (part.length > MANIFEST_PART_BYTES || offset + part.length > total) throw bad('part')
      return { type, id, total, offset, bytes: part }
    }
    case 'have': {
      need(4, false)
      const count = dv.getUint32(0)
      if (body.length - 4 !== Math.ceil(count / 8)) throw bad('bitmap length')
      return { type, id, count, bitmap: body.subarray(4) }
    }
    case 'chunk':
      need(4, false)
      return { type, id, index: dv.getUint32(0), bytes: body.subarray(4) }
    case 'ack': {
      need(1)
      const stage = STAGES[body[0]!]
      if (stage === undefined) throw bad('ack stage')
      return { type, id, stage }
    }
    case 'file-error': {
      need(1)
      const code = CODES[body[0]!]
      if (code === undefined) throw bad('error code')
      return { type, id, code }
    }
  }
}

export function toHex(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

export function fromHex(id: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(id)) throw bad('file id')
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = parseInt(id.slice(2 * i, 2 * i + 2), 16)
  return out
}

const bad = (why: string): MalformedFileFrameError =>
  new MalformedFileFrameError(`Malformed file frame: ${why}`)
