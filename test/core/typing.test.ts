/**
 * Typing notes from the network: a note for something that is not a room id is dropped, and rooms
 * nobody types in any more are forgotten, so signed notes for ever new rooms cannot pile up.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createIdentity } from '../../src/core/identity.ts'
import { TYPING_SHOW_MS, TYPING_TOPIC, Typing } from '../../src/core/typing.ts'
import { authorId } from '../../src/crdt/entry.ts'
import type { NetMessage, PeerIdString, PeerNet } from '../../src/net/index.ts'
import { createNodeSigner, nodeCrypto } from '../../src/node/crypto-node.ts'

const enc = new TextEncoder()

afterEach(() => {
  vi.useRealTimers()
})

describe('typing', () => {
  it('[TYP1] notes for non-rooms are dropped; rooms nobody types in are forgotten', async () => {
    vi.useFakeTimers()
    let now = 1_764_000_000_000
    let deliver: ((msg: NetMessage) => void) | undefined
    const net = {
      subscribe: (topic: string, cb: (msg: NetMessage) => void) => {
        if (topic === TYPING_TOPIC) deliver = cb
        return () => undefined
      },
      publish: () => Promise.resolve(0),
    } as unknown as PeerNet
    const me = createIdentity(createNodeSigner(new Uint8Array(32).fill(1)), nodeCrypto)
    const typing = new Typing({ net, identity: me, now: () => now })
    typing.start()
    const them = createNodeSigner(new Uint8Array(32).fill(2))
    const author = authorId(them.publicKey)
    const note = async (room: string): Promise<void> => {
      const sig = await them.sign(enc.encode(`parley/typing/1\0${room}\0${author}\0${now}`))
      const body = { room, author, wall: now, sig: btoa(String.fromCharCode(...sig)) }
      deliver?.({
        topic: TYPING_TOPIC,
        data: enc.encode(JSON.stringify(body)),
        from: 'x' as PeerIdString,
      } as NetMessage)
    }
    const rooms = ['general', ...Array.from({ length: 200 }, (_, i) => `room-${i}`)]
    for (const room of [...rooms, 'Not a room!', 'x'.repeat(500)]) await note(room)
    await vi.waitFor(() => expect(typing.typers('general')).toEqual([author]))
    await vi.waitFor(() => expect(typing.rooms().sort()).toEqual(rooms.sort()))
    now += TYPING_SHOW_MS + 1
    await vi.advanceTimersByTimeAsync(1_000)
    expect(typing.typers('general')).toEqual([])
    expect(typing.rooms()).toEqual([])
    typing.stop()
  })
})
