import '../../src/node/polyfill.ts'
