/**
 * yamux window updates once half a stream's receive window is used, as Go's and Rust's yamux send
 * them — not after every data frame.
 *
 * `@chainsafe/libp2p-yamux` (8.0.1) answers every data frame it receives with a window update
 * frame: a gossip message in costs a frame out (its 12-byte header, Noise's length and tag, a
 * socket write on this side; a read, a decryption and a decode on the other). In the 1→1 latency
 * bench those updates were a third of a receiver's socket writes. The yamux spec leaves the timing
 * to the receiver; go-yamux and rust-yamux (libp2p/rust-yamux#100) grant credit once half the
 * window is consumed, so the sender never waits for it while the other half is in flight.
 *
 * {@link YamuxStream.prototype.sendWindowUpdate} is replaced by the same logic with that threshold:
 * a stream's SYN and ACK still go at once, the window still grows when it is used up within four
 * round trips. The muxer creates its streams from this class (the package's `./stream` export).
 */
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'

/** yamux's window update frame type (spec: 0 data, 1 window update, 2 ping, 3 go away). */
const WINDOW_UPDATE = 1

/** The fields of a stream the update reads and writes (private in the class's types). */
interface Window {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
  maxStreamWindowSize: number
  epochStart: number
  streamId: number
  getRTT: () => number
  getSendFlags: () => number
  sendFrame: (frame: {
    type: number
    flag: number
    streamID: number
    length: number
  }) => boolean | undefined
}

function sendWindowUpdate(this: Window): void {
  if (this.state === StreamState.Paused) {
    // no more data wanted for now: the epoch starts again when the stream resumes
    this.epochStart = Date.now()
    return
  }
  const flags = this.getSendFlags()
  let delta = this.recvWindow - this.recvWindowCapacity
  // A SYN or ACK goes at once; credit, once half the window is used.
  if (flags === 0 && delta < this.recvWindow / 2) return
  const now = Date.now()
  const rtt = this.getRTT()
  // The window was used up within four round trips: it is too small for this link.
  if (flags === 0 && rtt > -1 && now - this.epochStart <= rtt * 4) {
    this.recvWindow = Math.min(this.recvWindow * 2, this.maxStreamWindowSize)
    delta = this.recvWindow - this.recvWindowCapacity
  }
  this.recvWindowCapacity = this.recvWindow
  this.epochStart = now
  this.sendFrame({ type: WINDOW_UPDATE, flag: flags, streamID: this.streamId, length: delta })
}

let installed = false

/** Installs the half-window updates (idempotent). */
export function halfWindowUpdates(): void {
  if (installed) return
  installed = true
  ;(YamuxStream.prototype as unknown as { sendWindowUpdate: () => void }).sendWindowUpdate =
    sendWindowUpdate
}
