/** What a chunk fetch knows of one holder: the chunks it has, its requests in flight, its failures. */
export interface PeerState {
  have: Uint8Array | undefined
  asking: boolean
  askedAt: number
  inflight: number
  bad: boolean
  fails: number
  retryAt: number
}

/** A holder not asked anything yet. */
export function newPeerState(): PeerState {
  return {
    have: undefined,
    asking: false,
    askedAt: 0,
    inflight: 0,
    bad: false,
    fails: 0,
    retryAt: 0,
  }
}
