/** Named errors of file sharing: match on `err.name`, never on the message. */

abstract class NamedError extends Error {
  constructor(name: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = name
  }
}

/** Manifest bytes that are not a canonical manifest. */
export class MalformedManifestError extends NamedError {
  static override readonly name = 'MalformedManifestError'
  constructor(message: string) {
    super('MalformedManifestError', message)
  }
}

/** A file frame that does not decode (dropped; the request fails). */
export class MalformedFileFrameError extends NamedError {
  static override readonly name = 'MalformedFileFrameError'
  constructor(message: string) {
    super('MalformedFileFrameError', message)
  }
}

/**
 * The disk under the file store is full (ENOSPC, or the browser's storage quota). The transfer is
 * paused; what was stored stays intact, and fetching again resumes once there is room.
 */
export class FileStoreFullError extends NamedError {
  static override readonly name = 'FileStoreFullError'
  constructor(message: string, options?: ErrorOptions) {
    super('FileStoreFullError', message, options)
  }
}

/** Holding the file would exceed the operator's quota, even after evicting what may be evicted. */
export class FileQuotaError extends NamedError {
  static override readonly name = 'FileQuotaError'
  constructor(message: string) {
    super('FileQuotaError', message)
  }
}

/** No connected peer holds the file (or its manifest) right now. */
export class FileUnavailableError extends NamedError {
  static override readonly name = 'FileUnavailableError'
  constructor(message: string) {
    super('FileUnavailableError', message)
  }
}

/** Asked for a file, or a chunk of one, that this store does not hold. */
export class FileNotHeldError extends NamedError {
  static override readonly name = 'FileNotHeldError'
  constructor(message: string) {
    super('FileNotHeldError', message)
  }
}
