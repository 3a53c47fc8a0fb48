/**
 * Summarises V8 CPU profiles (`npm run bench -- --profile DIR` writes one per peer process):
 * self time by package or source file, and the hottest functions.
 *
 *   npx tsx bench/profile-summary.ts DIR/joiner-100000-0.cpuprofile [--top 25] [--window FROM-TO]
 *
 * `--window FROM-TO`: only the samples taken between these two readings of the monotonic clock
 * (µs, `process.hrtime` / 1000; what V8 stamps samples with), e.g. the catch-up window
 * `bench/catchup.ts --profile` prints.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

/** `src/core/sync.ts`, `yjs`, `@libp2p/gossipsub`, `(gc)`, `node:internal`… */
export function ownerOf(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)'
  const nm = url.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/')
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!
  }
  const src = url.indexOf('/src/')
  if (src >= 0) return url.slice(src + 1)
  const bench = url.indexOf('/bench/')
  if (bench >= 0) return url.slice(bench + 1)
  if (url.startsWith('node:')) return 'node:internal'
  return url
}

export function summarise(
  profile: Profile,
  top: number,
  window?: { fromUs: number; toUs: number },
): { totalMs: number; owners: [string, number][]; fns: [string, number][] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0
    at += delta
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) return
    self.set(id, (self.get(id) ?? 0) + delta / 1000)
  })
  const owners = new Map<string, number>()
  const fns = new Map<string, number>()
  let totalMs = 0
  for (const [id, ms] of self) {
    const n = byId.get(id)!
    const { functionName, url, lineNumber } = n.callFrame
    totalMs += ms
    const owner = ownerOf(url, functionName)
    owners.set(owner, (owners.get(owner) ?? 0) + ms)
    const fn = `${functionName || '(anonymous)'} ${owner}:${lineNumber + 1}`
    fns.set(fn, (fns.get(fn) ?? 0) + ms)
  }
  const sorted = (m: Map<string, number>): [string, number][] =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
  return { totalMs, owners: sorted(owners), fns: sorted(fns) }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const t = args.indexOf('--top')
  const top = t >= 0 ? Number(args[t + 1]) : 25
  const w = args.indexOf('--window')
  const [fromUs, toUs] = w >= 0 ? (args[w + 1] ?? '').split('-').map(Number) : []
  const window = fromUs === undefined || toUs === undefined ? undefined : { fromUs, toUs }
  const files = args.filter(
    (a, i) => !a.startsWith('--') && args[i - 1] !== '--top' && args[i - 1] !== '--window',
  )
  for (const file of files) {
    const s = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, top, window)
    const pct = (ms: number): string => `${((100 * ms) / s.totalMs).toFixed(1).padStart(5)} %`
    console.log(`\n${file}: ${(s.totalMs / 1000).toFixed(2)} s sampled`)
    console.log('  self time by package / file:')
    for (const [k, ms] of s.owners)
      console.log(`  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${k}`)
    console.log('  hottest functions (self):')
    for (const [k, ms] of s.fns) console.log(`  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${k}`)
  }
}
