/**
 * The web app's build (`npm run build` → dist/, served by `parley serve`) and dev server
 * (`npm run dev`: hot reload, with `/api` and the libp2p WebSocket proxied to the Node peer on
 * http://127.0.0.1:4040, or PARLEY_PEER).
 */
import { defineConfig } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { fileURLToPath } from 'node:url'

const peer = process.env.PARLEY_PEER ?? 'http://127.0.0.1:4040'
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url))

export default defineConfig({
  root: here('./src/ui'),
  plugins: [svelte({ configFile: false })],
  resolve: {
    alias: [
      ...['@libp2p/tcp', '@libp2p/mdns', '@libp2p/memory', 'sodium-native'].map((find) => ({
        find,
        replacement: here('./src/ui/lib/node-only.ts'),
      })),
      // The bulk side channel (node:net, node:crypto), loaded by src/net/libp2p.ts for `node` only.
      { find: /^\.\/bulk\.ts$/, replacement: here('./src/ui/lib/node-only.ts') },
      // Noise's crypto on Node (libsodium, node:crypto), loaded by src/net/noise.ts off the browser only.
      { find: /^\.\/noise-node\.ts$/, replacement: here('./src/ui/lib/node-only.ts') },
    ],
  },
  build: {
    outDir: here('./dist'),
    emptyOutDir: true,
    target: 'es2023',
    chunkSizeWarningLimit: 2048,
  },
  server: {
    proxy: {
      '/api': peer,
      // libp2p dials ws://<page host>/: upgrades of `/` go to the peer; Vite's own HMR socket
      // (protocol vite-hmr) and plain page requests stay here.
      '^/$': {
        target: peer,
        ws: true,
        bypass: (req) => (req.headers.upgrade === undefined ? req.url : undefined),
      },
    },
  },
})
