import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pinnedTemporalPath } from '../../src/temporal/binary';
import { runCli } from '../support/cliProcess';
import { freeServerPort, ROOT, spawnSharemount, waitFor } from './support';

/**
 * The release as an operator installs it: `npm pack` of this checkout (after `npm run build`), installed
 * with `npm install -g` into a scratch prefix, run from there with nothing of the checkout on its paths.
 */
describe('npm pack → npm install -g', () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-pack-'));
  const prefix = path.join(scratch, 'prefix');
  const installed = path.join(prefix, 'bin', 'sharemount');
  const cleanEnv = {
    PATH: `${path.join(prefix, 'bin')}:/usr/local/bin:/usr/bin:/bin`,
    HOME: path.join(scratch, 'home'),
    SHAREMOUNT_HOME: path.join(scratch, 'data'),
  };

  beforeAll(() => {
    const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', scratch], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
    fs.mkdirSync(cleanEnv.HOME);
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', path.join(scratch, tarball)], {
      stdio: 'pipe',
      timeout: 600_000,
    });
  }, 660_000);
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('packs what the CLI needs to run, and none of the sources or tests', () => {
    const listing = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: ROOT, encoding: 'utf8' }))[0].files.map(
      (f: { path: string }) => f.path,
    ) as string[];
    for (const needed of [
      'bin/sharemount',
      'dist/client.js',
      'dist/workflow-bundle.js',
      'deploy/temporal/config/sharemount.yaml',
      'deploy/temporal/dynamicconfig.yaml',
      'deploy/systemd/sharemount-server.service',
      'temporal-version.json',
    ]) {
      expect(listing).toContain(needed);
    }
    expect(listing.filter((f) => f.startsWith('test/') || f.startsWith('src/domain/') || f.startsWith('.tools/'))).toEqual([]);
  });

  it('the installed sharemount runs --version and doctor, from its own directory only', async () => {
    const realPath = fs.realpathSync(installed);
    expect(realPath.startsWith(prefix)).toBe(true);
    const version = execFileSync(process.execPath, [installed, '--version'], { env: cleanEnv, encoding: 'utf8' }).trim();
    expect(version).toBe(require('../../package.json').version);
    // `sharemount dev` from the install (the operator provides the Temporal CLI, as README "Teams" says), on
    // ports of its own: a server some other process has on 7233 must not answer for it.
    const port = await freeServerPort();
    const env = { ...cleanEnv, SHAREMOUNT_TEMPORAL_BIN: pinnedTemporalPath() };
    const dev = spawnSharemount(['dev', '--port', String(port), '--ui-port', String(port + 20)], env, scratch, 'dev', { bin: installed });
    try {
      await waitFor(
        `${dev.log} to say it serves`,
        () => {
          if (dev.child.exitCode !== null) throw new Error(`sharemount dev exited: ${dev.output()}`);
          return dev.output().includes('Press Ctrl-C') || undefined;
        },
        90_000,
      );
      const doctor = await runCli(
        ['doctor', '--backend', 'efs', '--json'],
        { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${port}` },
        { timeoutMs: 120_000, bin: installed },
      );
      expect(doctor.stderr).not.toMatch(/not built|Cannot find module/);
      expect([0, 1]).toContain(doctor.code);
      expect(JSON.parse(doctor.stdout).result.backends).toEqual(['efs']);
    } finally {
      await dev.kill('SIGTERM');
    }
  }, 180_000);
});
