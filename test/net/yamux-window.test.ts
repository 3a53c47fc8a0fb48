/**
 * yamux window updates once half the receive window is used (src/net/yamux-window.ts), on the
 * library's own stream class: the frames a stream sends back as data arrives.
 */
import { describe, expect, it } from 'vitest'
import { logger } from '@libp2p/logger'
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { Uint8ArrayList } from 'uint8arraylist'
import { halfWindowUpdates } from '../../src/net/yamux-window.ts'

interface SentFrame {
  type: number
  flag: number
  length: number
}

/** yamux's default initial stream window. */
const WINDOW = 256 * 1024

function stream(state: StreamState, rtt = -1): { s: YamuxStream; sent: SentFrame[] } {
  halfWindowUpdates()
  const sent: SentFrame[] = []
  const s = new YamuxStream({
    id: '1',
    streamId: 1,
    direction: state === StreamState.SYNReceived ? 'inbound' : 'outbound',
    state,
    log: logger('test:yamux'),
    getRTT: () => rtt,
    sendFrame: (f) => {
      sent.push({ type: f.type, flag: f.flag, length: f.length })
      return true
    },
  })
  return { s, sent }
}

/** One data frame of `n` bytes arriving. */
function data(s: YamuxStream, n: number): void {
  s.handleData({
    header: { type: 0, flag: 0, streamID: 1, length: n },
    data: new Uint8ArrayList(new Uint8Array(n)),
  })
}

describe('yamux window updates', () => {
  it('[YAMUX1] gossip-sized frames get one update per half window, not one each', () => {
    const { s, sent } = stream(StreamState.Established)
    // 250 frames of 500 bytes: 125,000 bytes, under half the window
    for (let i = 0; i < 250; i++) data(s, 500)
    expect(sent).toEqual([])
    // the frame that reaches half the window (the 263rd) is answered with all the credit used
    for (let i = 0; i < 12; i++) data(s, 500)
    expect(sent).toEqual([])
    data(s, 500)
    expect(sent).toEqual([{ type: 1, flag: 0, length: 263 * 500 }])
    // and the count starts again
    for (let i = 0; i < 262; i++) data(s, 500)
    expect(sent).toHaveLength(1)
    data(s, 500)
    expect(sent).toHaveLength(2)
    expect(sent[1]).toEqual({ type: 1, flag: 0, length: 263 * 500 })
  })

  it('[YAMUX2] an inbound stream acknowledges at once; a window used up within four round trips grows', () => {
    const inbound = stream(StreamState.SYNReceived)
    data(inbound.s, 100)
    // the ACK goes with the first frame, whatever credit it carries
    expect(inbound.sent).toEqual([{ type: 1, flag: 2, length: 100 }])
    // a fast link: half the window used well within 4 × 1 s; the window doubles, and the update
    // grants the doubled window's worth
    const fast = stream(StreamState.Established, 1_000)
    data(fast.s, WINDOW / 2)
    expect(fast.sent).toEqual([{ type: 1, flag: 0, length: WINDOW * 2 - WINDOW / 2 }])
    // the whole (larger) window may be sent before the next update: no frame exceeds it
    expect(() => data(fast.s, WINDOW * 2)).not.toThrow()
  })
})
