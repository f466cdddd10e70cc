import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import tseslint from 'typescript-eslint';

// The layers of src/ and what each may import, so the next change cannot quietly undo them (the cases are
// proven in test/unit/ops/boundaries.test.ts; import cycles are caught by scripts/check-import-cycles.js):
//   domain      pure: other domain code only; no I/O, no Temporal, no AWS
//   workflows   domain, workflows, @temporalio/workflow|common, and types (only) from activities
//   host        effects without Temporal: domain and host only
//   activities  thin wrappers: domain, host, activities and Temporal's activity APIs; never cli or sandbox
//   cli         anything but activities (the read-only plans and dry runs use the host layer)

/** Every top-level entry of src/ (folders and files like worker.ts), so a new one is covered at once. */
const SRC_ENTRIES = fs.readdirSync(path.join(import.meta.dirname, 'src')).map((name) => name.replace(/\.ts$/, ''));
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A relative import of a top-level src entry other than the allowed ones, from any depth below src/. */
function projectExcept(...allowed) {
  const denied = SRC_ENTRIES.filter((name) => !allowed.includes(name)).map(escape);
  return `^(\\.\\./)+(${denied.join('|')})(/|$)`;
}
const project = (name) => `^(\\.\\./)+${escape(name)}(/|$)`;
const NODE_BUILTINS = `^(node:.*|(${builtinModules
  .filter((m) => !m.startsWith('_'))
  .map(escape)
  .join('|')})(/.*)?)$`;

/**
 * One layer's boundary as two rules: no-restricted-imports for import/export declarations, and
 * no-restricted-syntax for import() and require(), which the former does not see. Each restriction is a
 * regex over the specifier as written; allowTypeImports lets `import type` through (a dynamic import never is).
 */
function boundary(files, restrictions, extraSyntax = []) {
  // esquery regexes end at the first "/", so the selector spells it \x2F.
  const selectorRegex = (regex) => `/${regex.replaceAll('/', '\\x2F')}/`;
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: restrictions.map(({ regex, message, allowTypeImports }) => ({ regex, message, ...(allowTypeImports ? { allowTypeImports } : {}) })) },
      ],
      'no-restricted-syntax': [
        'error',
        ...restrictions.flatMap(({ regex, message }) => [
          { selector: `ImportExpression[source.value=${selectorRegex(regex)}]`, message },
          { selector: `CallExpression[callee.name='require'][arguments.0.value=${selectorRegex(regex)}]`, message },
        ]),
        ...extraSyntax,
      ],
    },
  };
}

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
  // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O, no floating promises.
  {
    files: ['src/workflows/**/*.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'use sleep() from @temporalio/workflow' },
        { name: 'fetch', message: 'do I/O in an activity' },
      ],
    },
  },
  boundary(
    ['src/workflows/**/*.ts'],
    [
      { regex: NODE_BUILTINS, message: 'workflow code must not use Node built-ins: do I/O in an activity' },
      {
        regex: '^(?![./]|node:|@temporalio/(workflow|common)(/|$))',
        message: 'workflow code imports only @temporalio/workflow and @temporalio/common: it talks to the outside through activities',
      },
      { regex: projectExcept('domain', 'workflows', 'activities'), message: 'workflows import only domain code, other workflow files and activity types' },
      { regex: project('activities'), allowTypeImports: true, message: 'workflows may import activity types only (import type)' },
    ],
  ),
  boundary(
    ['src/domain/**/*.ts'],
    [
      { regex: NODE_BUILTINS, message: 'domain code is pure: no I/O (do it in the host layer)' },
      { regex: '^@(aws-sdk|smithy|temporalio)/', message: 'domain code is pure: no AWS, no Temporal' },
      { regex: projectExcept('domain'), message: 'domain code imports only other domain code' },
    ],
  ),
  boundary(
    ['src/host/**/*.ts'],
    [
      { regex: '^@temporalio/', message: 'the host layer has no Temporal: heartbeats and failure types belong to the activities that wrap it' },
      { regex: projectExcept('domain', 'host'), message: 'the host layer imports only domain and host code (no activities, cli, sandbox or Temporal wiring)' },
    ],
  ),
  boundary(
    ['src/activities/**/*.ts'],
    [
      {
        regex: projectExcept('domain', 'host', 'activities'),
        message: 'activities import only domain and host code: never the CLI, the sandboxes, workflows or the worker',
      },
    ],
  ),
  boundary(
    ['src/cli/**/*.ts'],
    [{ regex: project('activities'), message: 'the CLI never imports activities: use the host layer (src/host) for reads and dry runs' }],
  ),
);
