/**
 * The data directory: history database, keys, and the lock that keeps a second process out.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** `npm start`'s data directory: `.parley/` at the root of the Parley checkout. */
export const DEFAULT_DATA_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '.parley',
)

export class DataDirLockedError extends Error {
  static override readonly name = 'DataDirLockedError'
  readonly pid: number
  constructor(dir: string, pid: number) {
    super(
      `the data directory ${dir} is in use by another Parley process (pid ${pid}); ` +
        'stop it, or pass --data DIR to use another directory',
    )
    this.name = 'DataDirLockedError'
    this.pid = pid
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The pid holding the lock on `dir`, if a live process does. */
export function lockHolder(dir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(dir, 'LOCK'), 'utf8'), 10)
    return Number.isSafeInteger(pid) && pid > 0 && alive(pid) ? pid : undefined
  } catch {
    return undefined
  }
}

/**
 * Takes the data directory's lock (creating the directory); throws {@link DataDirLockedError}
 * while a live process holds it. A lock left by a dead process (kill -9) is taken over.
 */
export function lockDataDir(dir: string): { release(): void } {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const file = join(dir, 'LOCK')
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      let released = false
      const release = (): void => {
        if (released) return
        released = true
        if (lockHolder(dir) === process.pid) rmSync(file, { force: true })
      }
      process.once('exit', release)
      return { release }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = lockHolder(dir)
      if (holder !== undefined && holder !== process.pid) throw new DataDirLockedError(dir, holder)
      rmSync(file, { force: true }) // stale: its process is gone
    }
  }
  throw new DataDirLockedError(dir, lockHolder(dir) ?? 0)
}
