/**
 * `--compiled`: bundles bench/peer.ts (and the Parley sources it imports) into one ESM file with
 * esbuild, so that peers run on plain Node instead of through tsx — how a built Parley would run.
 * Native packages stay external (loaded from node_modules).
 */
import { buildSync } from 'esbuild'
import { fileURLToPath } from 'node:url'

export function bundlePeer(): string {
  // Under node_modules (never linted or formatted), so that the externals resolve from there.
  const out = fileURLToPath(
    new URL('../../node_modules/.cache/parley-bench/peer.mjs', import.meta.url),
  )
  buildSync({
    entryPoints: [fileURLToPath(new URL('../peer.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: out,
    // Loaded from this checkout's node_modules: native code.
    external: [
      'better-sqlite3',
      'sodium-native',
      '@ipshipyard/node-datachannel',
      'node-datachannel',
    ],
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  })
  return out
}
