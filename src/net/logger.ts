/**
 * Scoped debug logging for every layer above the net (enable with DEBUG=parley:*), on the same
 * `debug`-style namespaces libp2p uses, so one switch shows Parley and libp2p together.
 */
import { logger as libp2pLogger } from '@libp2p/logger'

export type Logger = ReturnType<typeof libp2pLogger>

/** A logger for namespace `name` (`log(...)`, `log.error(...)`, `log.trace(...)`). */
export function createLogger(name: string): Logger {
  return libp2pLogger(name)
}
