// Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O, no floating promises,
// and imports only from domain code, other workflow files, types, and the Temporal workflow/common APIs.
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['fs', 'path', 'os', 'child_process', 'net', 'http', 'https', 'crypto', 'dns', 'tls', 'worker_threads', 'process', 'timers', 'stream', 'util', 'zlib', 'events', 'readline', 'cluster', 'dgram', 'v8', 'vm'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', 'test-artifacts/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.flatMap((name) => [
            { name, message: 'workflow code must not use Node built-ins: do I/O in an activity' },
            { name: `node:${name}`, message: 'workflow code must not use Node built-ins: do I/O in an activity' },
          ]),
          patterns: [
            { group: ['@aws-sdk/*', '@temporalio/worker', '@temporalio/client', '@temporalio/activity'], message: 'workflow code talks to the outside only through activities' },
            { group: ['../activities', '../activities/*', '../activities/**', '../cli/*', '../temporal/*'], allowTypeImports: true, message: 'workflows may import activity types only (import type)' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'use sleep() from @temporalio/workflow' }, { name: 'fetch', message: 'do I/O in an activity' }],
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['node:*', 'fs', 'child_process', '@aws-sdk/*', '@temporalio/*', '../activities*', '../cli*'], message: 'domain code is pure: no I/O, no Temporal' }] },
      ],
    },
  },
);
