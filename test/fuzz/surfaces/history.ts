/**
 * Surfaces of the signed history: sync frames (gossip and the request protocol), entries (network
 * and disk), a push through signature and chain verification, and the length-prefixed stream framing.
 */
import { verifyForward } from '../../../src/crdt/chain.ts'
import { ZERO_HASH, decodeEntry, encodeEntry, equalBytes } from '../../../src/crdt/entry.ts'
import { decodeFrame, encodeFrame, type Frame } from '../../../src/crdt/wire.ts'
import { signPresence } from '../../../src/crdt/presence-sig.ts'
import { FrameDecoder, encodeFrame as lengthPrefixed } from '../../../src/net/frames.ts'
import { nodeCrypto } from '../../../src/node/crypto-node.ts'
import type { Prng } from '../../helpers/prng.ts'
import { InvariantError, type Surface } from '../engine.ts'
import { ROOM, type World } from '../fixtures.ts'

/** Every kind of sync frame, valid, from the world's history. */
export async function validFrames(w: World): Promise<Uint8Array[]> {
  const { head, entries } = w
  const body = {
    author: w.alice.signer.publicKey,
    peer: '12D3KooWFuzzPeer',
    name: 'alice',
    status: 'online' as const,
    wall: 1_764_000_000_000,
    seq: 7,
  }
  const digest = nodeCrypto.sha256(entries[0]!)
  const frames: Frame[] = [
    {
      type: 'digest',
      sender: body.peer,
      rooms: [
        { room: ROOM, digest },
        { room: 'x', digest },
      ],
    },
    { type: 'digest-reply', rooms: [{ room: ROOM, digest }] },
    { type: 'pull', room: ROOM, have: [{ author: head.author, seq: 2 }] },
    { type: 'announce', sender: body.peer, room: ROOM, have: [{ author: head.author, seq: 3 }] },
    { type: 'heads', room: ROOM, heads: [head] },
    { type: 'entries', room: ROOM, period: 20_417, entries },
    { type: 'end', room: ROOM },
    { type: 'push', room: ROOM, head, entries },
    { type: 'presence', ...body, sig: await signPresence(w.alice.signer, body) },
    { type: 'error', code: 'not-held', message: 'room not held here' },
  ]
  return frames.map(encodeFrame)
}

/** Decodes, and checks that what decodes re-encodes to the same bytes (one encoding per frame). */
function roundTrip<T>(
  input: Uint8Array,
  decode: (b: Uint8Array) => T,
  encode: (v: T) => Uint8Array,
): string {
  const v = decode(input)
  if (!equalBytes(encode(v), input)) throw new InvariantError('decoded, but re-encodes differently')
  return 'decoded'
}

export function syncFrameSurface(seeds: Uint8Array[]): Surface {
  return {
    name: 'sync-frame',
    description:
      'decodeFrame (src/crdt/wire.ts): every gossip payload (room push, presence, room announce) and every sync request and response; round trip must be exact',
    allowed: ['MalformedFrameError'],
    seeds,
    run: (input) => roundTrip(input, decodeFrame, encodeFrame),
  }
}

export function entrySurface(w: World): Surface {
  return {
    name: 'entry',
    description:
      'decodeEntry (src/crdt/entry.ts): entries in push/entries frames and read back from SQLite/IndexedDB; round trip must be exact',
    allowed: ['MalformedEntryError'],
    seeds: w.entries,
    run: (input) => roundTrip(input, decodeEntry, encodeEntry),
  }
}

/**
 * A gossiped push all the way through verification, as `RoomSync.onGossip` does it: decode, head
 * signature, chain down to an empty base.
 */
export function pushSurface(seeds: Uint8Array[]): Surface {
  return {
    name: 'gossip-push',
    description:
      'room-topic gossip: decodeFrame, then verifyForward (head signature, hash chain, entry decoding) as RoomSync.onGossip',
    allowed: ['MalformedFrameError', 'InvalidSignatureError', 'BrokenChainError', 'ChainGapError'],
    seeds,
    async run(input) {
      const f = decodeFrame(input)
      if (f.type !== 'push') return 'not-push'
      const v = await verifyForward(nodeCrypto, { seq: 0, hash: ZERO_HASH }, f.entries, f.head)
      return v.length > 0 ? 'verified' : 'nothing-new'
    },
  }
}

/** Splits `bytes` at random points into chunks, as a transport would deliver them. */
function chunked(rand: Prng, bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let at = 0; at < bytes.length;) {
    const n = 1 + rand.int(Math.max(1, bytes.length - at))
    out.push(bytes.subarray(at, at + n))
    at += n
  }
  return out
}

/**
 * The stream framing of the request protocol (src/net/frames.ts `FrameDecoder`), fed the bytes in
 * chunks split at seeded points. A 64 KiB cap (the admission protocol's is smaller still) keeps
 * valid frames small; the 3 MiB cap works the same way.
 */
export function streamFramesSurface(frames: Uint8Array[]): Surface {
  const seeds: Uint8Array[] = [frames.map((f) => lengthPrefixed(f, 64 * 1024))].map((parts) => {
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    let at = 0
    for (const p of parts) {
      all.set(p, at)
      at += p.length
    }
    return all
  })
  for (const f of frames) seeds.push(lengthPrefixed(f, 64 * 1024))
  return {
    name: 'stream-frames',
    description:
      'FrameDecoder (src/net/frames.ts): length-prefixed frames on every sync/file/admission stream, in arbitrary chunks; frames must reassemble exactly',
    allowed: ['InvalidFrameError', 'FrameTooLargeError'],
    seeds,
    run(input) {
      // split points from the input itself: an input replays alone
      let split = input.reduce((h, b) => Math.imul(h ^ b, 16_777_619) >>> 0, 2_166_136_261)
      const rand = { int: (n: number) => (split = (split * 1103515245 + 12345) >>> 0) % n }
      const decoder = new FrameDecoder(64 * 1024)
      const out: Uint8Array[] = []
      for (const c of chunked(rand as Prng, input)) out.push(...decoder.push(c))
      // whatever came out, re-framed, must be a prefix of the input
      let at = 0
      for (const f of out) {
        const framed = lengthPrefixed(f, 64 * 1024)
        if (!equalBytes(framed, input.subarray(at, at + framed.length)))
          throw new InvariantError('frames do not reassemble the input')
        at += framed.length
      }
      if (decoder.partial !== at < input.length)
        throw new InvariantError(
          `partial is ${decoder.partial} with ${input.length - at} bytes left`,
        )
      return decoder.partial ? 'partial' : 'frames'
    },
  }
}
