import { describe, expect, it } from 'vitest'
import { Uint8ArrayList } from 'uint8arraylist'
import { encodeFrame, encodeLength, FrameDecoder, plainBytes } from '../../src/net/frames.ts'
import { bytes } from './helpers.ts'

describe('length-prefixed frames', () => {
  it('encodes lengths as unsigned LEB128 varints, like lpStream', () => {
    expect(encodeLength(0)).toEqual(Uint8Array.of(0))
    expect(encodeLength(127)).toEqual(Uint8Array.of(0x7f))
    expect(encodeLength(300)).toEqual(Uint8Array.of(0xac, 0x02))
    expect(encodeLength(3 * 1024 * 1024)).toEqual(Uint8Array.of(0x80, 0x80, 0xc0, 0x01))
  })

  it('decodes frames split at every possible byte boundary', () => {
    const frames = [bytes(0), bytes(1, 2), bytes(200, 3), bytes(0, 4), bytes(5000, 5)]
    const wire = new Uint8Array(frames.reduce((n, f) => n + encodeFrame(f).byteLength, 0))
    let at = 0
    for (const f of frames) {
      wire.set(encodeFrame(f), at)
      at += encodeFrame(f).byteLength
    }
    for (const step of [1, 2, 3, 7, 128, 4999, wire.byteLength]) {
      const decoder = new FrameDecoder()
      const out: Uint8Array[] = []
      for (let i = 0; i < wire.byteLength; i += step)
        out.push(...decoder.push(wire.subarray(i, i + step)))
      expect(out, `step ${step}`).toEqual(frames)
      expect(decoder.partial).toBe(false)
    }
  })

  it('refuses oversize lengths before buffering them, and malformed prefixes', () => {
    const decoder = new FrameDecoder(100)
    expect(() => decoder.push(encodeLength(101))).toThrow(
      expect.objectContaining({ name: 'FrameTooLargeError' }),
    )
    expect(() => new FrameDecoder().push(new Uint8Array(6).fill(0xff))).toThrow(
      expect.objectContaining({ name: 'InvalidFrameError' }),
    )
    expect(() => new FrameDecoder().push(Uint8Array.of(0x80, 0x00))).toThrow(
      expect.objectContaining({ name: 'InvalidFrameError' }),
    )
    expect(() => encodeFrame(new Uint8Array(101), 100)).toThrow(
      expect.objectContaining({ name: 'FrameTooLargeError' }),
    )
  })

  it('reports a partial frame', () => {
    const decoder = new FrameDecoder()
    expect(decoder.push(encodeFrame(bytes(10)).subarray(0, 5))).toEqual([])
    expect(decoder.partial).toBe(true)
  })

  it('hands out plain Uint8Arrays, never Buffers', () => {
    const buf = Buffer.from([1, 2, 3])
    const plain = plainBytes(buf)
    expect(Object.getPrototypeOf(plain)).toBe(Uint8Array.prototype)
    expect(plain.buffer).toBe(buf.buffer)
    const [frame] = new FrameDecoder().push(Buffer.from(encodeFrame(Uint8Array.of(9))))
    expect(Object.getPrototypeOf(frame)).toBe(Uint8Array.prototype)
  })

  it('takes a list of buffers (as libp2p streams deliver them) piece by piece, frames spanning pieces', () => {
    const frames = [bytes(70_000, 1), bytes(3, 2), bytes(0, 3), bytes(130_000, 4)]
    const wire = new Uint8ArrayList(...frames.map((f) => encodeFrame(f))).subarray()
    const decoder = new FrameDecoder()
    const out: Uint8Array[] = []
    // lists of 3 pieces of 64 KiB, like a yamux frame made of Noise messages
    for (let i = 0; i < wire.byteLength; i += 3 * 65_536) {
      const list = new Uint8ArrayList()
      for (let j = i; j < Math.min(i + 3 * 65_536, wire.byteLength); j += 65_536)
        list.append(Buffer.from(wire.subarray(j, Math.min(j + 65_536, i + 3 * 65_536))))
      out.push(...decoder.push(list))
    }
    expect(out).toEqual(frames)
    for (const f of out) expect(Object.getPrototypeOf(f)).toBe(Uint8Array.prototype)
    expect(decoder.partial).toBe(false)
  })
})
