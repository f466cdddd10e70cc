// Lints source texts as if they were files at the given paths, with the project's own eslint.config.mjs, and
// prints each one's messages as JSON (for boundaries.test.ts: ESLint loads its config as an ES module, which
// the jest runtime does not). Reads [{ filePath, code }] on stdin.
import * as fs from 'node:fs';
import { ESLint } from 'eslint';

const cases = JSON.parse(fs.readFileSync(0, 'utf8'));
const eslint = new ESLint({
  cwd: process.cwd(),
  // The fixtures are not in tsconfig's program: drop the type-aware parsing and its one rule, keep every
  // import rule as configured.
  overrideConfig: {
    files: ['src/workflows/**/*.ts'],
    languageOptions: { parserOptions: { project: false } },
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
});
const results = [];
for (const { filePath, code } of cases) {
  const [result] = await eslint.lintText(code, { filePath });
  results.push(result.messages.map((m) => ({ ruleId: m.ruleId, message: m.message })));
}
process.stdout.write(JSON.stringify(results));
