/**
 * The bulk side channel's records (src/net/bulk-record.ts): sealed and opened whatever the
 * chunking, and every forgery refused with `BulkChannelError` — a flipped bit anywhere, a replayed
 * record, the other direction's key, another channel's key, an empty or oversized length.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  RecordKind,
  RecordReader,
  RecordSealer,
  channelKeys,
  type BulkRecord,
} from '../../src/net/bulk-record.ts'

const MAX = 64 * 1024
const SERVER = '12D3KooWServer'
const CLIENT = '12D3KooWClient'

function pair(): {
  client: ReturnType<typeof channelKeys>
  server: ReturnType<typeof channelKeys>
} {
  const secret = randomBytes(32)
  const token = randomBytes(32)
  return {
    client: channelKeys(secret, token, SERVER, CLIENT, 'client'),
    server: channelKeys(secret, token, SERVER, CLIENT, 'server'),
  }
}

const wire = (parts: Buffer[]): Buffer => Buffer.concat(parts)

function caught(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('did not throw')
}

describe('bulk records', () => {
  it('[BREC1] a record opens byte-identical however the bytes are split', () => {
    const { client, server } = pair()
    const sealer = new RecordSealer(client.send, MAX)
    const bodies = [randomBytes(MAX), randomBytes(1), new Uint8Array(0), randomBytes(4_000)]
    const stream = wire(bodies.flatMap((b) => sealer.seal(RecordKind.request, b)))
    for (const step of [1, 7, 4_096, stream.length]) {
      const reader = new RecordReader(server.receive, MAX)
      const got: BulkRecord[] = []
      for (let at = 0; at < stream.length; at += step) {
        got.push(...reader.push(stream.subarray(at, at + step)))
      }
      expect(reader.partial).toBe(false)
      expect(got.map((r) => r.kind)).toEqual(bodies.map(() => RecordKind.request))
      got.forEach((r, i) => expect(Buffer.compare(r.body, Buffer.from(bodies[i]!))).toBe(0))
    }
  })

  it("[BREC6] reading straight into the record (a socket's onread) gives the same records", () => {
    const { client, server } = pair()
    const sealer = new RecordSealer(client.send, MAX)
    const bodies = [randomBytes(MAX), new Uint8Array(0), randomBytes(5_000)]
    const stream = wire(bodies.flatMap((b) => sealer.seal(RecordKind.frame, b)))
    const reader = new RecordReader(server.receive, MAX)
    const got: BulkRecord[] = []
    for (let at = 0, step = 1; at < stream.length; step = (step * 7) % 9_973) {
      const target = reader.target()
      const n = Math.min(step, target.length, stream.length - at)
      stream.copy(target, 0, at, at + n)
      at += n
      const rec = reader.filled(n)
      if (rec !== undefined) got.push(rec)
    }
    expect(reader.partial).toBe(false)
    got.forEach((r, i) => expect(Buffer.compare(r.body, Buffer.from(bodies[i]!))).toBe(0))
    expect(got).toHaveLength(bodies.length)
    const header = Buffer.alloc(4)
    header.writeUInt32BE(MAX + 2, 0)
    const hostile = new RecordReader(server.receive, MAX)
    header.copy(hostile.target())
    expect(caught(() => hostile.filled(4)).name).toBe('BulkChannelError')
  })

  it('[BREC7] a body of many 64 KiB slices seals as one record; records read into one buffer keep their bodies', () => {
    const { client, server } = pair()
    const max = 1024 * 1024
    const sealer = new RecordSealer(client.send, max)
    const bodies = [randomBytes(max), randomBytes(3 * 65_536 + 5), randomBytes(10)]
    const sealed = bodies.map((b) => sealer.seal(RecordKind.frame, b))
    expect(sealed[0]!.length).toBe(2 + 16 + 1) // header, kind, 16 slices, tag
    const stream = wire(sealed.flat())
    const reader = new RecordReader(server.receive, max)
    const got: BulkRecord[] = []
    for (let at = 0; at < stream.length;) {
      const target = reader.target()
      const n = Math.min(target.length, 100_000, stream.length - at)
      stream.copy(target, 0, at, at + n)
      at += n
      const rec = reader.filled(n)
      if (rec !== undefined) got.push(rec)
    }
    expect(got.map((r) => Buffer.compare(r.body, bodies[got.indexOf(r)]!))).toEqual([0, 0, 0])
  })

  it('[BREC2] a flipped bit anywhere in a record fails authentication', () => {
    const { client, server } = pair()
    const sealed = wire(
      new RecordSealer(client.send, MAX).seal(RecordKind.request, randomBytes(300)),
    )
    for (const at of [0, 3, 4, 5, 150, sealed.length - 1]) {
      const forged = Buffer.from(sealed)
      forged[at]! ^= 0x01
      const err = caught(() => new RecordReader(server.receive, MAX).push(forged))
      expect(err.name).toBe('BulkChannelError')
    }
  })

  it('[BREC3] a replayed record, the wrong direction and another channel are refused', () => {
    const { client, server } = pair()
    const sealer = new RecordSealer(client.send, MAX)
    const first = wire(sealer.seal(RecordKind.request, randomBytes(10)))
    const reader = new RecordReader(server.receive, MAX)
    expect(reader.push(first)).toHaveLength(1)
    expect(caught(() => reader.push(first)).name).toBe('BulkChannelError')
    // The client's own receiving key (server → client) does not open what it sent.
    const own = new RecordReader(client.receive, MAX)
    expect(caught(() => own.push(first)).name).toBe('BulkChannelError')
    const other = new RecordReader(pair().server.receive, MAX)
    expect(caught(() => other.push(first)).name).toBe('BulkChannelError')
  })

  it('[BREC4] keys are bound to both peer ids', () => {
    const secret = randomBytes(32)
    const token = randomBytes(32)
    const a = channelKeys(secret, token, SERVER, CLIENT, 'client')
    const b = channelKeys(secret, token, SERVER, 'someone else', 'server')
    const sealed = wire(new RecordSealer(a.send, MAX).seal(RecordKind.request, randomBytes(10)))
    expect(caught(() => new RecordReader(b.receive, MAX).push(sealed)).name).toBe(
      'BulkChannelError',
    )
  })

  it('[BREC5] an oversized or empty length is refused before any body is buffered', () => {
    const { server } = pair()
    for (const length of [0, MAX + 2, 0xffffffff]) {
      const header = Buffer.alloc(4)
      header.writeUInt32BE(length, 0)
      const err = caught(() => new RecordReader(server.receive, MAX).push(header))
      expect(err.name).toBe('BulkChannelError')
    }
    const sealer = new RecordSealer(pair().client.send, MAX)
    expect(caught(() => sealer.seal(RecordKind.frame, new Uint8Array(MAX + 1))).name).toBe(
      'BulkChannelError',
    )
  })
})
