/**
 * Named errors of the network layer, in the libp2p style: match on `err.name`, never on the message.
 */

/** A frame or pubsub message is larger than {@link MAX_FRAME_BYTES}. */
export class FrameTooLargeError extends Error {
  static override name = 'FrameTooLargeError'
  constructor(message = 'Frame too large', options?: ErrorOptions) {
    super(message, options)
    this.name = 'FrameTooLargeError'
  }
}

/** The peer is unknown, not connected and not dialable, or refused the stream. */
export class PeerUnreachableError extends Error {
  static override name = 'PeerUnreachableError'
  constructor(message = 'Peer unreachable', options?: ErrorOptions) {
    super(message, options)
    this.name = 'PeerUnreachableError'
  }
}

/** The net was used before `start()` or after `stop()`. */
export class NotStartedError extends Error {
  static override name = 'NotStartedError'
  constructor(message = 'Net not started', options?: ErrorOptions) {
    super(message, options)
    this.name = 'NotStartedError'
  }
}

/**
 * The response ended abnormally: the responder's handler threw, it had no handler, it sent a
 * malformed frame, or the connection went away mid-response. Frames yielded before it are valid.
 */
export class ResponseAbortedError extends Error {
  static override name = 'ResponseAbortedError'
  constructor(message = 'Response aborted', options?: ErrorOptions) {
    super(message, options)
    this.name = 'ResponseAbortedError'
  }
}

/** Bytes on a sync stream do not form valid length-prefixed frames. */
export class InvalidFrameError extends Error {
  static override name = 'InvalidFrameError'
  constructor(message = 'Invalid frame', options?: ErrorOptions) {
    super(message, options)
    this.name = 'InvalidFrameError'
  }
}

/** The caller's `AbortSignal` fired. The only error callers are expected to ignore. */
export class AbortError extends Error {
  static override name = 'AbortError'
  constructor(message = 'The operation was aborted', options?: ErrorOptions) {
    super(message, options)
    this.name = 'AbortError'
  }
}

/** A multiaddr passed to `dial` or in `bootstrap` cannot be parsed or has no `/p2p/<id>`. */
export class InvalidMultiaddrError extends Error {
  static override name = 'InvalidMultiaddrError'
  constructor(message = 'Invalid multiaddr', options?: ErrorOptions) {
    super(message, options)
    this.name = 'InvalidMultiaddrError'
  }
}

/** `networkKey` is not 32 bytes. */
export class InvalidNetworkKeyError extends Error {
  static override name = 'InvalidNetworkKeyError'
  constructor(message = 'Invalid network key', options?: ErrorOptions) {
    super(message, options)
    this.name = 'InvalidNetworkKeyError'
  }
}

/**
 * The remote end of a private-network connection holds another network key (or none): what it
 * sent does not decrypt to libp2p's opening. The connection is closed before any handshake.
 */
export class NetworkKeyMismatchError extends Error {
  static override name = 'NetworkKeyMismatchError'
  constructor(message = 'Network key mismatch', options?: ErrorOptions) {
    super(message, options)
    this.name = 'NetworkKeyMismatchError'
  }
}

/**
 * Thrown by `Admission.verify` to refuse a peer with a reason: the refused peer is told `code`
 * (0–255, meaning is the caller's) and `reason` (at most `MAX_REFUSAL_BYTES` of UTF-8, cut beyond)
 * before its connection closes. Any other throw, or false, refuses without a reason.
 */
export class AdmissionRefusedError extends Error {
  static override name = 'AdmissionRefusedError'
  readonly code: number
  readonly reason: string
  constructor(code: number, reason: string, options?: ErrorOptions) {
    super(`Admission refused (${code}): ${reason}`, options)
    this.name = 'AdmissionRefusedError'
    this.code = code
    this.reason = reason
  }
}

/**
 * A bulk side channel (bulk.ts) broke its protocol: an unknown or expired token, a record larger
 * than allowed, one that fails authentication (wrong key, a flipped bit, a replay), or a record of
 * the wrong kind. The channel is closed and the event logged; the peer keeps serving.
 */
export class BulkChannelError extends Error {
  static override name = 'BulkChannelError'
  constructor(message = 'Bulk channel protocol error', options?: ErrorOptions) {
    super(message, options)
    this.name = 'BulkChannelError'
  }
}
