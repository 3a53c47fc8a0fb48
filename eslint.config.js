import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import svelte from 'eslint-plugin-svelte'
import globals from 'globals'

const libp2pBan = {
  group: ['libp2p', 'libp2p/*', '@libp2p/*', '@chainsafe/*'],
  message: 'Only src/net imports libp2p: go through the PeerNet interface.',
}
const yjsBan = {
  group: ['yjs', 'y-protocols', 'y-protocols/*', 'y-indexeddb', 'lib0', 'lib0/*'],
  message: 'Only src/crdt imports yjs: go through src/crdt or src/core.',
}
const layerBan = {
  group: ['**/net/*', '**/crdt/*', '**/node/*'],
  message: 'The UI talks to src/core only (ui → core → {crdt, net}).',
}

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'test-results', '.parley', 'coverage'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': 'error',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  { files: ['src/net/**'], rules: { 'no-restricted-imports': ['error', { patterns: [yjsBan] }] } },
  {
    files: ['src/crdt/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [libp2pBan] }] },
  },
  {
    files: ['src/core/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            libp2pBan,
            yjsBan,
            { group: ['**/node/*', '**/ui/*'], message: 'core depends only on crdt and net.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/ui/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [libp2pBan, yjsBan, layerBan] }] },
  },
  {
    files: ['src/node/**', 'bin/**', 'bench/**', 'test/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
)
