/**
 * Resolves after the bytes that have come in are read. A timer runs before the sockets are read
 * (libuv: timers, then poll; setImmediate after poll): after our process got no CPU for a while, a
 * ping's timeout or stall fires before the answer already waiting in the socket is seen. Each
 * judgement of a link waits for this first (test [LINK5]); so does the check of a closed link's
 * gossip stream (gossip-streams.ts), after the close events of its streams.
 */
export const afterReads = (): Promise<void> =>
  new Promise((resolve) =>
    typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0),
  )
