// The cluster suite: real PostgreSQL and the real Temporal server (`npm run setup:cluster`), no shared dev
// server. Its files end in .spec.ts so the main suite's `*.test.ts` never picks them up.
//   npx jest -c test/cluster/jest.config.js
const path = require('node:path');
// The main suite's settings for how files are run (loading it also quiets the AWS SDK's Node 20 notice).
const { testEnvironment, transform, setupFiles } = require('../../jest.config.js');

module.exports = {
  rootDir: path.resolve(__dirname, '../..'),
  testEnvironment,
  roots: ['<rootDir>/test/cluster'],
  testMatch: ['**/*.spec.ts'],
  transform,
  setupFiles,
  testTimeout: 300000,
  maxWorkers: 1,
};
