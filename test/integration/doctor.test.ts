import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createDoctorActivities } from '../../src/activities/doctor';
import { resolveAwsIdentity } from '../../src/host/aws/identity';
import type { DoctorReport } from '../../src/domain/doctor';
import { lxcTaskQueue } from '../../src/domain/taskQueues';
import { runCli } from '../support/cliProcess';
import { testClient, uniqueTaskQueue, withWorker } from '../support/temporal';

/**
 * doctor is a real workflow: the worker on the inspected host gathers facts, the workflow judges them. The
 * host here is this machine, with a PATH the test controls so `pct` is present or not.
 */
function binDir(tools: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-doctor-'));
  for (const tool of tools) fs.writeFileSync(path.join(dir, tool), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return dir;
}

describe('doctor', () => {
  const node = `doctor-${process.pid}`;
  const withPct = binDir(['pct']);
  const without = binDir([]);
  afterAll(() => [withPct, without].forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  async function report(searchPath: string, args: string[], env: Record<string, string> = {}, pveContainerVersion?: string) {
    const activities = createDoctorActivities({ searchPath, awsIdentity: resolveAwsIdentity, ...(pveContainerVersion ? { pveContainerVersion } : {}) });
    return withWorker({ taskQueue: lxcTaskQueue(node), activities }, () => runCli(['doctor', '--node', node, '--json', ...args], env));
  }

  it('is ready for lxc where pct is found, and says so in JSON with exit 0', async () => {
    const result = await report(withPct, ['--backend', 'lxc']);
    expect(result.code).toBe(0);
    const report_: DoctorReport = JSON.parse(result.stdout).result;
    expect(report_.ok).toBe(true);
    expect(report_.checks.find((c) => c.name === 'pct')).toMatchObject({ ok: true, detail: path.join(withPct, 'pct') });
    expect(report_.checks.find((c) => c.name === 'kernel')?.detail).toBe(os.release());
  });

  it('says which walk engine runs: the prebuilt helper with its checksum, or the Node walk and why (informs only)', async () => {
    const walkCheck = (result: { stdout: string }) => JSON.parse(result.stdout).result.checks.find((c: { name: string }) => c.name === 'walk engine');
    const prebuilt = path.resolve(__dirname, `../../prebuilt/linux-${process.arch}/sharemount-walk`);
    expect(walkCheck(await report(withPct, ['--backend', 'lxc']))).toEqual({
      name: 'walk engine',
      ok: true,
      detail: expect.stringMatching(new RegExp(`^native: prebuilt helper ${prebuilt}, sha256 ok`)),
      requiredFor: [],
    });
    // the inspection runs in this process's worker: a tampered copy named by SHAREMOUNT_WALK_HELPER
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-doctor-walk-'));
    const tampered = path.join(dir, 'sharemount-walk');
    fs.copyFileSync(prebuilt, tampered);
    fs.chmodSync(tampered, 0o755);
    fs.copyFileSync(`${prebuilt}.sha256`, `${tampered}.sha256`);
    fs.appendFileSync(tampered, '\0');
    process.env.SHAREMOUNT_WALK_HELPER = tampered;
    try {
      const result = await report(withPct, ['--backend', 'lxc']);
      expect(result.code).toBe(0); // the Node walk keeps the same rules: lxc is still ready
      expect(walkCheck(result)).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/^Node walk \(fallback\): checksum mismatch: /),
        fix: expect.stringMatching(/build:walk-here/),
      });
    } finally {
      delete process.env.SHAREMOUNT_WALK_HELPER;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reports the node's pve-container and, per configured volume path, whether idmapped mounts are possible there (informs only)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-doctor-vol-'));
    const config = path.join(dir, 'phoenix.json');
    const shm = fs.mkdtempSync('/dev/shm/sharemount-doctor-');
    const missing = `${dir}-not-made`;
    fs.writeFileSync(
      config,
      JSON.stringify({
        shared_volumes: {
          a: { host_path: dir, mounts: { '950': '/a' } },
          b: { host_path: shm, mounts: { '950': '/b' } },
          c: { host_path: missing, mounts: { '950': '/c' } },
        },
      }),
    );
    try {
      const result = await report(withPct, ['--backend', 'lxc', '--config', config], {}, '6.1.6');
      expect(result.code).toBe(0);
      const checks: DoctorReport['checks'] = JSON.parse(result.stdout).result.checks;
      expect(checks.find((c) => c.name === 'pve-container')).toMatchObject({ ok: true, detail: '6.1.6 (per-mount idmap)' });
      expect(checks.find((c) => c.name === `idmapped mounts at ${dir}`)).toMatchObject({
        detail: expect.stringMatching(/^(ext4|xfs|btrfs|zfs|tmpfs|overlay|unknown filesystem)/),
      });
      expect(checks.find((c) => c.name === `idmapped mounts at ${shm}`)).toMatchObject({ detail: expect.stringMatching(/^tmpfs: /) });
      expect(checks.find((c) => c.name === `idmapped mounts at ${missing}`)).toMatchObject({ ok: false, detail: 'cannot tell: does not exist' });
      const old = JSON.parse((await report(withPct, ['--backend', 'lxc'], {}, '6.1.5')).stdout).result.checks;
      expect(old.find((c: { name: string }) => c.name === 'pve-container')).toMatchObject({
        ok: false,
        fix: expect.stringMatching(/upgrade to pve-container 6\.1\.6/),
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(shm, { recursive: true, force: true });
    }
  });

  it('names the missing pct with its fix and exits 1', async () => {
    const result = await report(without, ['--backend', 'lxc']);
    expect(result.code).toBe(1);
    const pct = JSON.parse(result.stdout).result.checks.find((c: { name: string }) => c.name === 'pct');
    expect(pct.ok).toBe(false);
    expect(pct.fix).toMatch(/Proxmox VE node/);
  });

  it('for efs, a host without AWS region and credentials is not ready (exit 1), with the fixes', async () => {
    // EFS prerequisites are checked on the general queue (any worker): here a queue of this test's own.
    const queue = uniqueTaskQueue('doctor');
    const activities = createDoctorActivities({ searchPath: withPct, awsIdentity: async () => ({ problem: 'Could not load credentials from any providers' }) });
    const result = await withWorker({ taskQueue: queue, activities }, () => runCli(['doctor', '--json', '--backend', 'efs'], { SHAREMOUNT_TASK_QUEUE: queue }));
    expect(result.code).toBe(1);
    const checks = JSON.parse(result.stdout).result.checks as Array<{ name: string; ok: boolean; detail: string; fix?: string }>;
    expect(checks.find((c) => c.name === 'AWS region')).toMatchObject({ ok: false, fix: expect.stringMatching(/AWS_REGION/) });
    expect(checks.find((c) => c.name === 'AWS credentials')).toMatchObject({ ok: false, detail: 'Could not load credentials from any providers' });
  });

  it('reads the region and credential source from the standard AWS chain', async () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' });
      expect(await resolveAwsIdentity()).toEqual({ region: 'eu-west-1', credentialsSource: 'environment' });
      for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE']) delete process.env[name];
      Object.assign(process.env, { AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true' });
      const none = await resolveAwsIdentity();
      expect(none.region).toBeUndefined();
      expect(none.credentialsSource).toBeUndefined();
      expect(none.problem).toMatch(/credentials/i);
    } finally {
      process.env = saved;
    }
  });

  it('the same workflow, started from a client, inspects the host its worker runs on', async () => {
    const { client, close } = await testClient();
    try {
      const activities = createDoctorActivities({ searchPath: withPct, awsIdentity: async () => ({ region: 'eu-west-1', credentialsSource: 'environment' }) });
      const queue = uniqueTaskQueue('doctor');
      const result = await withWorker({ taskQueue: queue, activities }, () =>
        client.workflow.execute('doctorWorkflow', { taskQueue: queue, workflowId: `doctor-test-${Date.now()}`, args: [{ backends: ['lxc', 'efs'] }] }),
      );
      expect((result as DoctorReport).ok).toBe(true);
      expect((result as DoctorReport).hostname).toBe(os.hostname());
    } finally {
      await close();
    }
  });
});
