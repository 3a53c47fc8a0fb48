/** The core counts gossip by the key a frame claims (src/core/gossip-limit.ts). */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { GOSSIP_LIMIT, gossipSenderKey } from '../../src/core/gossip-limit.ts'
import { MIN_ENTRY_BYTES } from '../../src/crdt/entry.ts'
import { encodeFrame } from '../../src/crdt/wire.ts'

const bytes = (n: number) => new Uint8Array(randomBytes(n))
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex')

describe('gossip sender keys', () => {
  it('[GKEY1] a push is counted by its author, a presence by its device; anything else by the peer alone', () => {
    const author = bytes(32)
    const push = encodeFrame({
      type: 'push',
      room: 'general',
      head: { room: 'general', author, seq: 7, hash: bytes(32), sig: bytes(64) },
      entries: [bytes(MIN_ENTRY_BYTES)],
    })
    expect(gossipSenderKey('parley/room/general', push)).toBe(hexOf(author))
    const device = bytes(32)
    const presence = encodeFrame({
      type: 'presence',
      author: device,
      peer: '12D3KooWexample',
      name: 'Alice',
      status: 'online',
      wall: Date.now(),
      seq: 1,
      sig: bytes(64),
    })
    expect(gossipSenderKey('parley/presence', presence)).toBe(hexOf(device))
    expect(gossipSenderKey('parley/typing', new TextEncoder().encode('{"typing":true}'))).toBe(
      undefined,
    )
    expect(gossipSenderKey('parley/room/general', push.subarray(0, push.length - 1))).toBe(
      undefined,
    )
    expect(GOSSIP_LIMIT.keyOf).toBe(gossipSenderKey)
  })
})
