/**
 * Closes WebRTC connections that carry nothing. `@libp2p/webrtc` 6.0.33 (private-to-private,
 * recipient side) treats the end of the signalling stream as success: when the dialer gives up
 * (no ICE path: PCs on segments that do not route to each other, UDP blocked) the recipient still
 * gets an open `/webrtc/p2p/<id>` connection whose peer connection never connected. The peer then
 * looks reachable, publishes go into it, and the UI says "direct". Seen in
 * test/e2e/lan.netns.e2e.test.ts (the page's RTCPeerConnections all 'new' or 'closed'). So every new
 * WebRTC connection must answer a ping within {@link WEBRTC_VERIFY_MS}, or it is aborted; until it
 * has answered, it is not shown as a link ({@link carriesData}): under load a dead one can take
 * the whole of that time to go, and a person should not see "direct" meanwhile.
 */
import type { Connection, Libp2p, Logger, StreamMessageEvent } from '@libp2p/interface'
import { WEBRTC_VERIFY_MS } from './constants.ts'

const PING = '/ipfs/ping/1.0.0'

/** WebRTC connections whose round trip came back. */
const proven = new WeakSet<Connection>()

const isWebRtc = (conn: Connection): boolean => conn.remoteAddr.toString().includes('/webrtc')

/** Whether `conn` is known to carry data: any connection but a WebRTC one not yet verified. */
export function carriesData(conn: Connection): boolean {
  return !isWebRtc(conn) || proven.has(conn)
}

/**
 * One ping round trip (32 bytes there and back) on `conn`. Opening the stream alone proves
 * nothing: libp2p negotiates a lone protocol lazily, so `newStream` resolves on a dead link.
 */
async function roundTrip(conn: Connection, signal: AbortSignal): Promise<void> {
  const stream = await conn.newStream(PING, { signal })
  try {
    const data = crypto.getRandomValues(new Uint8Array(32))
    const echoed = new Promise<void>((resolve, reject) => {
      let got = 0
      stream.addEventListener('message', (evt: StreamMessageEvent) => {
        got += evt.data.byteLength
        if (got >= data.byteLength) resolve()
      })
      stream.addEventListener('close', () => reject(new Error('stream closed before the echo')))
      signal.addEventListener('abort', () => reject(new Error('no echo in time')), { once: true })
    })
    stream.send(data)
    await echoed
  } finally {
    stream.abort(new Error('link check done'))
  }
}

/** Starts checking new WebRTC connections of `node`; returns the function that stops it. */
export function verifyWebRtcLinks(node: Libp2p, log: Logger): () => void {
  const onOpen = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    if (!isWebRtc(conn)) return
    roundTrip(conn, AbortSignal.timeout(WEBRTC_VERIFY_MS)).then(
      () => proven.add(conn),
      (err: unknown) => {
        if (conn.status !== 'open') return
        log('WebRTC link to %p carries nothing, closing it - %e', conn.remotePeer, err)
        conn.abort(err instanceof Error ? err : new Error(String(err)))
      },
    )
  }
  node.addEventListener('connection:open', onOpen)
  return () => node.removeEventListener('connection:open', onOpen)
}
