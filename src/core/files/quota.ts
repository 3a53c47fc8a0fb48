/**
 * The operator's storage quota (`parley serve --file-quota`): which files make room for a new one.
 *
 * Policy: files the device's user shared or fetched on purpose are pinned and never evicted. Files
 * an always-on peer keeps for the rooms it retains are evicted least recently used first when a new
 * file would not fit; when evicting all of them would still not make room, the new file is refused
 * (`FileQuotaError`). Files with a transfer running are not evicted.
 */
import { FileQuotaError } from './errors.ts'

export interface QuotaEntry {
  id: string
  size: number
  pinned: boolean
  lastUsed: number
}

/**
 * The files to evict so that `need` more bytes fit under `quota` (least recently used first), or
 * throws `FileQuotaError`. `busy` files are kept.
 */
export function planEviction(
  files: readonly QuotaEntry[],
  quota: number,
  need: number,
  busy: ReadonlySet<string> = new Set(),
): string[] {
  let used = files.reduce((n, f) => n + f.size, 0)
  if (used + need <= quota) return []
  const evictable = files
    .filter((f) => !f.pinned && !busy.has(f.id))
    .sort((a, b) => a.lastUsed - b.lastUsed)
  const out: string[] = []
  for (const f of evictable) {
    if (used + need <= quota) break
    out.push(f.id)
    used -= f.size
  }
  if (used + need > quota) {
    throw new FileQuotaError(
      `A file of ${need} bytes does not fit the file quota of ${quota} bytes (${used} bytes held)`,
    )
  }
  return out
}
