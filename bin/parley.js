#!/usr/bin/env node
// Entry point of the `parley` command: Node 20 polyfills first, then the TypeScript CLI via tsx.
import { register } from 'tsx/esm/api'

register()
await import('../src/node/polyfill.ts')
const { main } = await import('../src/node/cli.ts')
process.exitCode = await main(process.argv.slice(2))
