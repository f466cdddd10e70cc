/**
 * SHAREMOUNT_REQUIRE_TOOLS turns a suite's skip into a failure that names the missing tool. Proved on the real
 * shellcheck suite, run by jest in a child process whose PATH holds node and nothing else, so shellcheck is
 * really missing there (the machine itself has it: scripts/install-system-deps.sh installs it).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const SUITE = 'test/safety/step-scripts-shellcheck.test.ts';
/** The suite alone: no dev server (globalSetup), since a suite that needs one never gets past its skip here. */
const CONFIG = JSON.stringify({
  rootDir: ROOT,
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: [`<rootDir>/${SUITE}`],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.check.json' }] },
});

let bin: string;
beforeAll(() => {
  bin = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-no-tools-'));
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
});
afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

function runSuiteWithoutTools(extraEnv: Record<string, string>) {
  const jest = path.join(ROOT, 'node_modules/jest/bin/jest.js');
  const env = { HOME: process.env.HOME ?? '/root', TMPDIR: os.tmpdir(), PATH: bin, ...extraEnv };
  const run = spawnSync(process.execPath, [jest, '--runInBand', '--ci', '--config', CONFIG], { cwd: ROOT, env, encoding: 'utf8', timeout: 110_000 });
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('SHAREMOUNT_REQUIRE_TOOLS', () => {
  test('unset, a suite whose tool is missing is skipped, and says which tool', () => {
    const run = runSuiteWithoutTools({});
    expect(run.output).toContain('skipped "shellcheck on every EFS step script": shellcheck: shellcheck is not on PATH');
    expect(run.output).toMatch(/Tests:\s+\d+ skipped, \d+ total/);
    expect(run.code).toBe(0);
  });

  test('set to 1, the same suite fails, naming the missing tool and how to install it', () => {
    const run = runSuiteWithoutTools({ SHAREMOUNT_REQUIRE_TOOLS: '1' });
    expect(run.output).toContain('missing on this machine: shellcheck: shellcheck is not on PATH (apt-get install shellcheck)');
    expect(run.output).toMatch(/Tests:\s+1 failed, 1 total/);
    expect(run.code).toBe(1);
  });
});
