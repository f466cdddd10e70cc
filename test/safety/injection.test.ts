/**
 * The injection corpus (test/fixtures/injection/payloads.json): shell metacharacters, quotes, $(), backticks,
 * newlines, NUL, non-ASCII and a leading '-' in every field that reaches a host: volume names, host and
 * container paths, owners, CTIDs (LXC); volume names, file-system ids, instance ids, mount points, users,
 * groups, gids, registry people and their numbers, the identity mode and access point ids (EFS). Each payload
 * would create a marker file if it ever reached a shell. Tried at three layers: the validators, the CLI (a
 * child process), and the workflows on a real worker with input that skipped the CLI's checks. Every one is rejected, and the marker never appears.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createActivities } from '../../src/activities';
import { InputError, InputErrors } from '../../src/domain/errors';
import { resolveEfsSettings, type EfsMountRequest } from '../../src/domain/efs';
import { parseLxcConfig } from '../../src/domain/lxc/config';
import type { LxcVolume } from '../../src/domain/lxc/volume';
import type { LxcApplyResult } from '../../src/workflows';
import { makePveDir, makeTree, pctCalls, scratchDir, STAND_IN_PCT } from '../integration/lxc-support';
import { injectionPayloads } from '../support/injectionPayloads';
import { motoClients } from '../../src/sandbox/moto';
import { sharemount } from '../support/sharemountBin';
import { testClient, uniqueTaskQueue, withWorker } from '../support/temporal';

const base = scratchDir('injection');
const MARKER = path.join(base, 'pwned');
const PAYLOADS = injectionPayloads(MARKER);

function fieldsOf(error: unknown): string[] {
  if (error instanceof InputErrors) return error.errors.map((e) => e.field);
  if (error instanceof InputError) return [error.field];
  throw error;
}

function rejected(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    return fieldsOf(error);
  }
  return [];
}

const pveDirs: string[] = [];
afterAll(() => {
  for (const dir of pveDirs) fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(base, { recursive: true, force: true });
});

describe('injection corpus', () => {
  let okOwnerAfter: number | undefined;
  const counts = { payloads: PAYLOADS.length, validatorTrials: 0, validatorRejected: 0, cliTrials: 0, cliRejected: 0, workflowTrials: 0, workflowRejected: 0 };
  afterAll(() => {
    const markerAppeared = fs.existsSync(MARKER);
    console.log(`SUMMARY ${JSON.stringify({ scenario: 'injection', ...counts, markerAppeared })}`);
  });

  test('the validators reject every payload in every LXC and EFS field, naming it', () => {
    const good = { host_path: '/srv/models', mounts: { '101': '/mnt/models' } };
    const lxcFields: Array<[string, (p: string) => unknown]> = [
      ['shared_volumes.{P}', (p) => ({ shared_volumes: { [p]: good } })],
      ['shared_volumes.v.host_path', (p) => ({ shared_volumes: { v: { ...good, host_path: `/srv/${p}` } } })],
      ['shared_volumes.v.mounts.101', (p) => ({ shared_volumes: { v: { ...good, mounts: { '101': `/mnt/${p}` } } } })],
      ['shared_volumes.v.owner', (p) => ({ shared_volumes: { v: { ...good, owner: p } } })],
      ['shared_volumes.v.mountoptions', (p) => ({ shared_volumes: { v: { ...good, mountoptions: `nosuid;${p}` } } })],
      ['shared_volumes.v.strategy', (p) => ({ shared_volumes: { v: { ...good, strategy: p } } })],
      ['shared_volumes.v.mounts.{P}', (p) => ({ shared_volumes: { v: { ...good, mounts: { [p]: '/mnt/models' } } } })],
    ];
    const request: EfsMountRequest = { volumeName: 'research', fileSystemId: 'fs-0123456789abcdef0', instanceIds: ['i-0123456789abcdef0'] };
    const efsFields: Array<[string, (p: string) => EfsMountRequest]> = [
      ['<name>', (p) => ({ ...request, volumeName: p })],
      ['file-system id', (p) => ({ ...request, fileSystemId: `fs-${p}` })],
      ['<instance-id>', (p) => ({ ...request, instanceIds: [`i-${p}`] })],
      ['--mount-point', (p) => ({ ...request, mountPoint: `/mnt/${p}` })],
      ['--user', (p) => ({ ...request, users: [p] })],
      ['--group', (p) => ({ ...request, group: p })],
      ['--gid', (p) => ({ ...request, gid: p })],
      ['--person', (p) => ({ ...request, people: [{ name: p, uid: 2000, gid: 2000 }] })],
      ['--person', (p) => ({ ...request, people: [{ name: 'alice', uid: p as unknown as number, gid: 2000 }] })],
      ['--person', (p) => ({ ...request, people: [{ name: 'alice', uid: 2000, gid: p as unknown as number }] })],
      ['--identity', (p) => ({ ...request, identity: p as EfsMountRequest['identity'] })],
      ['access point id', (p) => ({ ...request, identity: 'access-point', accessPointId: `fsap-${p}` })],
    ];
    const missed: string[] = [];
    for (const payload of PAYLOADS) {
      for (const [field, make] of lxcFields) {
        counts.validatorTrials++;
        const fields = rejected(() => parseLxcConfig(JSON.stringify(make(payload))));
        const expected = field.replace('{P}', payload);
        if (fields.includes(expected)) counts.validatorRejected++;
        else missed.push(`lxc ${expected}: ${JSON.stringify(fields)}`);
      }
      for (const [field, make] of efsFields) {
        counts.validatorTrials++;
        const fields = rejected(() => resolveEfsSettings(make(payload)));
        if (fields.includes(field)) counts.validatorRejected++;
        else missed.push(`efs ${field} ${JSON.stringify(payload)}: ${JSON.stringify(fields)}`);
      }
    }
    expect(missed).toEqual([]);
    expect(fs.existsSync(MARKER)).toBe(false);
  });

  test('the CLI refuses them before anything runs (exit 2, field named)', async () => {
    const pveDir = makePveDir({ 101: { conf: 'unprivileged: 1\n' } });
    pveDirs.push(pveDir);
    const pctLog = path.join(pveDir, 'pct.log');
    const volume = path.join(base, 'vol');
    makeTree(volume, ['a']);
    const env = { SHAREMOUNT_PVE_DIR: pveDir, SHAREMOUNT_PCT_LOG: pctLog, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:9' };
    const picks = [PAYLOADS[0], PAYLOADS[3], PAYLOADS[4], PAYLOADS[5], PAYLOADS[7]];
    const runs: Array<{ args: string[]; field: string }> = [];
    picks.forEach((payload, i) => {
      const config = path.join(base, `config-${i}.json`);
      fs.writeFileSync(
        config,
        JSON.stringify({ shared_volumes: { v: { host_path: `${volume}/${payload}`, owner: 'container_root', mounts: { '101': `/mnt/${payload}` } } } }),
      );
      runs.push({
        args: ['lxc', 'apply', '--config', config, '--node', `inj${process.pid}`, '--pve-dir', pveDir, '--pct', STAND_IN_PCT, '--detach'],
        field: 'shared_volumes.v.host_path',
      });
    });
    const efs = ['efs', 'mount', 'research', 'i-0123456789abcdef0', '--dry-run'];
    runs.push({ args: ['efs', 'mount', PAYLOADS[3], 'i-0123456789abcdef0', '--dry-run'], field: '<name>' });
    runs.push({ args: [...efs, '--mount-point', `/mnt/${PAYLOADS[0]}`], field: '--mount-point' });
    runs.push({ args: [...efs, '--user', PAYLOADS[4]], field: '--user' });
    runs.push({ args: [...efs, '--group', PAYLOADS[5]], field: '--group' });
    runs.push({ args: [...efs, '--gid', PAYLOADS[8]], field: '--gid' });
    // Person names are checked before the registry is asked, so no Temporal server is reached for them.
    runs.push({ args: [...efs, '--person', PAYLOADS[4]], field: '--person' });
    runs.push({ args: [...efs, '--person', 'alice', '--registry', PAYLOADS[3]], field: '--registry' });
    runs.push({ args: [...efs, '--identity', PAYLOADS[1]], field: '--identity' });
    runs.push({ args: ['efs', 'mount', 'research', `i-${PAYLOADS[2]}`, '--dry-run'], field: '<instance-id>' });
    // Each --subnet reaches EC2 and EFS as a subnet ID: refused by its pattern before the workflow starts.
    for (const payload of PAYLOADS.slice(0, 3)) {
      runs.push({ args: ['efs', 'create', 'research', '--instance', 'i-0123456789abcdef0', '--subnet', `subnet-${payload}`], field: '--subnet' });
    }
    const failures: string[] = [];
    await Promise.all(
      runs.map(async ({ args, field }) => {
        counts.cliTrials++;
        const result = await sharemount(args, { env, timeoutMs: 60_000 });
        if (result.code === 2 && result.stderr.includes(`error: ${field}: `)) counts.cliRejected++;
        else failures.push(`${args.join(' ')}: exit ${result.code} ${result.stderr.slice(0, 200)}`);
      }),
    );
    expect(failures).toEqual([]);
    expect(pctCalls(pctLog)).toEqual([]);
    expect(fs.existsSync(MARKER)).toBe(false);
    fs.rmSync(pveDir, { recursive: true, force: true });
  }, 180_000);

  test('input that skipped the CLI: the real LXC workflow and activities refuse every payload, pct never runs', async () => {
    const pveDir = makePveDir({ 101: { conf: 'unprivileged: 1\n' }, 102: { conf: 'unprivileged: 1\n' } });
    pveDirs.push(pveDir);
    const pctLog = path.join(pveDir, 'pct.log');
    const store = path.join(base, 'store');
    makeTree(store, ['ok/file']);
    const node = `inj${process.pid}`;
    const volumes: LxcVolume[] = [];
    PAYLOADS.forEach((payload, i) => {
      volumes.push({ name: `h${i}`, hostPath: `${store}/${payload}`, owner: { kind: 'container_root' }, mounts: [{ ctid: 101, containerPath: '/mnt/ok' }] });
      volumes.push({ name: `c${i}`, hostPath: `${store}/ok`, owner: { kind: 'container_root' }, mounts: [{ ctid: 102, containerPath: `/mnt/${payload}` }] });
      volumes.push({ name: `u${i}`, hostPath: `${store}/ok`, owner: { kind: 'user', user: payload }, mounts: [{ ctid: 102, containerPath: `/mnt/u${i}` }] });
      // a CTID that is not a number (JSON lets a hand-made workflow input carry anything)
      volumes.push({
        name: `t${i}`,
        hostPath: `${store}/ok`,
        owner: { kind: 'container_root' },
        mounts: [{ ctid: payload as unknown as number, containerPath: `/mnt/t${i}` }],
      });
    });
    const activities = createActivities({
      ...motoClients('http://127.0.0.1:9'),
      awsIdentity: async () => ({}),
      pveDir,
      pct: STAND_IN_PCT,
      pctEnv: { SHAREMOUNT_PVE_DIR: pveDir, SHAREMOUNT_PCT_LOG: pctLog },
      runningDir: path.join(pveDir, 'running'),
    });
    const taskQueue = uniqueTaskQueue('inj');
    const { client, close } = await testClient();
    try {
      const result = (await withWorker({ taskQueue, activities }, () =>
        client.workflow.execute('lxcApplyWorkflow', {
          taskQueue,
          workflowId: `inj-${taskQueue}`,
          args: [{ node, volumes, fixDrift: false, fullScan: false, concurrency: 8 }],
        }),
      )) as LxcApplyResult;
      counts.workflowTrials += volumes.length;
      const accepted = result.volumes.filter((v) => v.ok).map((v) => v.name);
      counts.workflowRejected += result.volumes.length - accepted.length;
      expect(accepted).toEqual([]);
      expect(result.volumes.every((v) => (v.error ?? '').length > 0)).toBe(true);
    } finally {
      await close();
    }
    expect(pctCalls(pctLog).filter((argv) => argv[0] === 'set')).toEqual([]);
    expect(fs.readFileSync(path.join(pveDir, 'lxc', '102.conf'), 'utf8')).toBe('unprivileged: 1\n');
    okOwnerAfter = fs.statSync(path.join(store, 'ok', 'file')).uid;
    expect(fs.existsSync(MARKER)).toBe(false);
    fs.rmSync(pveDir, { recursive: true, force: true });
  }, 180_000);

  // Defence in depth: a hand-made input whose container path carries a payload (the CLI would refuse it) is
  // refused by the workflow before its first change, so the valid host path next to it is not chowned either.
  test('a volume refused for a bad container path changed nothing on the host first', () => {
    expect(okOwnerAfter).toBe(0);
  });
});
