// The cluster suite: real PostgreSQL and the real Temporal server (`npm run setup:cluster`), no shared dev
// server. Its files end in .spec.ts so the main suite's `*.test.ts` never picks them up.
//   npx jest -c test/cluster/jest.config.js
const path = require('node:path');

module.exports = {
  rootDir: path.resolve(__dirname, '../..'),
  testEnvironment: 'node',
  roots: ['<rootDir>/test/cluster'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.check.json' }] },
  setupFiles: ['<rootDir>/test/support/quietRuntime.ts'],
  testTimeout: 300000,
  maxWorkers: 1,
};
