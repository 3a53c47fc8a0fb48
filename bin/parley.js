#!/usr/bin/env node
// Entry point of the `parley` command: Node 20 polyfills first, then the TypeScript CLI via tsx.
import { register } from 'tsx/esm/api'

register()
await import('../src/node/polyfill.ts')
const { main } = await import('../src/node/cli.ts')
const code = await main(process.argv.slice(2))
// Everything is stopped and the store closed by now, but libp2p leaves a 1 s timer behind after
// stop (its address manager's debounce): exit once stdout is flushed instead of waiting for it.
process.stdout.write('', () => process.exit(code))
