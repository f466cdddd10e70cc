// The AWS SDK warns on every client in every process that Node 20 support ends in 2027; Node 20 is what
// these machines run, and the repeated notice buried CI failures. Tests and the processes they spawn skip it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** One real Temporal dev server for the whole run (test/support/globalSetup.ts); tests share it. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.check.json' }] },
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
  setupFiles: ['<rootDir>/test/support/quietRuntime.ts'],
  testTimeout: 120000,
  maxWorkers: 2,
};
