/**
 * Scheduled re-apply (issue 5, item 4), end to end: the built CLI creates a real Temporal Schedule on the
 * suite's dev server, a real worker in this process (production workflows and activities, the stand-in pct)
 * polls the node's queue `lxc:<node>`, and `schedule trigger` starts runs. The first run converges the
 * volume; a run on the converged host changes nothing (no entry, no `pct set`); after one deep file is
 * chowned back to nobody:nogroup the next run puts exactly that file back and `schedule describe` says so.
 */
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EFSClient } from '@aws-sdk/client-efs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Client } from '@temporalio/client';
import { createActivities } from '../../src/activities';
import { nodeActivityDeps } from '../../src/sandbox/demo';
import type { LxcApplyResult } from '../../src/workflows';
import { BACKEND_ATTRIBUTE, VOLUME_ATTRIBUTE } from '../../src/workflows/definitions';
import { demoNodeWithVolume, ownerOf, pctSetCalls, sharemount, sharemountJson } from '../support/sharemountBin';
import { testClient, withWorker } from '../support/temporal';

interface DescribeJson {
  name: string;
  note?: string;
  paused: boolean;
  nextRuns: string[];
  runs: Array<{ takenAt: string; workflowId: string; status: string; drift?: { drifted: boolean; lines: string[] } }>;
}

interface ListJson {
  name: string;
  note?: string;
  paused: boolean;
  next?: string;
}

const CONTAINER_ROOT = '100000:100000';
const NOBODY = '65534:65534';
const OFFLINE_AWS = { region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' } };

describe('sharemount schedule: scheduled LXC re-apply through a real schedule, worker and workflow', () => {
  const suffix = randomUUID().slice(0, 8);
  const nodeName = `sched-${suffix}`;
  const scheduleName = `reapply-${suffix}`;
  const node = demoNodeWithVolume(`sched_models_${suffix}`);
  const deepFile = path.join(node.volumePath, 'llama', 'shards', 'part-137.bin');
  let client: Client;
  let closeClient: (() => Promise<void>) | undefined;
  let stopWorker: (() => void) | undefined;
  let worker: Promise<void> | undefined;
  let workerError: unknown;
  let created = false;
  const efsSchedules: string[] = [];

  beforeAll(async () => {
    ({ client, close: closeClient } = await testClient());
    const activities = createActivities({
      ...nodeActivityDeps(node),
      awsIdentity: async () => ({ region: 'us-east-1' }),
      // LXC runs never call AWS; the clients are only there because the worker registers every activity.
      efs: new EFSClient(OFFLINE_AWS),
      ec2: new EC2Client(OFFLINE_AWS),
      ssm: new SSMClient(OFFLINE_AWS),
    });
    const released = new Promise<void>((resolve) => (stopWorker = resolve));
    worker = withWorker({ taskQueue: `lxc:${nodeName}`, activities }, () => released).catch((error) => {
      workerError = error;
    });
  });

  afterAll(async () => {
    // The schedule first, so no run can start while the worker goes away.
    if (created) await sharemount(['schedule', 'delete', scheduleName]);
    await client?.schedule
      .getHandle(`sharemount-schedule-${scheduleName}`)
      .delete()
      .catch(() => undefined);
    for (const name of efsSchedules) {
      await client?.schedule
        .getHandle(`sharemount-schedule-${name}`)
        .delete()
        .catch(() => undefined);
    }
    stopWorker?.();
    await worker;
    await closeClient?.();
    fs.rmSync(node.dir, { recursive: true, force: true });
  });

  const scheduleHandle = () => client.schedule.getHandle(`sharemount-schedule-${scheduleName}`);
  const describeJson = () => sharemountJson<DescribeJson>(['schedule', 'describe', scheduleName, '--json']);

  /** `schedule trigger` through the CLI, then the run it started, awaited to its result. */
  async function triggerAndAwait(): Promise<{ workflowId: string; result: LxcApplyResult }> {
    if (workerError) throw workerError;
    const before = new Set((await scheduleHandle().describe()).info.recentActions.map((a) => a.action.workflow.workflowId));
    const triggered = await sharemount(['schedule', 'trigger', scheduleName]);
    expect(triggered).toMatchObject({ code: 0 });
    expect(triggered.stdout).toContain(`schedule ${scheduleName}: trigger done`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const action = (await scheduleHandle().describe()).info.recentActions.find((a) => !before.has(a.action.workflow.workflowId));
      if (action) {
        const { workflowId, firstExecutionRunId } = action.action.workflow;
        const result = (await client.workflow.getHandle(workflowId, firstExecutionRunId).result()) as LxcApplyResult;
        return { workflowId, result };
      }
      if (Date.now() > deadline) throw new Error(`schedule ${scheduleName} started no run within 60 s of the trigger`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** `schedule list --json` once visibility (which may lag a change by a moment) agrees with `accept`. */
  async function listedUntil(accept: (names: ListJson[]) => boolean): Promise<ListJson[]> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const listed = await sharemountJson<ListJson[]>(['schedule', 'list', '--json']);
      if (accept(listed) || Date.now() > deadline) return listed;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** What `schedule describe --json` says about one run, once the run shows as completed there. */
  async function describedRun(workflowId: string) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const run = (await describeJson()).runs.find((r) => r.workflowId === workflowId);
      if (run?.status === 'COMPLETED' || Date.now() > deadline) return run;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  test('schedule create (lxc, every 1h) makes a Temporal Schedule that list --json and describe --json show', async () => {
    const result = await sharemountJson<{ scheduleId: string; every: string; pauseOnFailure: boolean }>([
      'schedule',
      'create',
      scheduleName,
      'lxc',
      '--config',
      node.configFile,
      '--node',
      nodeName,
      '--every',
      '1h',
      '--json',
    ]);
    created = true;
    expect(result).toMatchObject({ scheduleId: `sharemount-schedule-${scheduleName}`, every: '1h', pauseOnFailure: false });

    const description = await scheduleHandle().describe();
    expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'lxcApplyWorkflow', taskQueue: `lxc:${nodeName}` });
    expect(description.policies.overlap).toBe('SKIP');

    const listed = (await listedUntil((all) => all.some((s) => s.name === scheduleName))).find((s) => s.name === scheduleName);
    expect(listed).toMatchObject({ paused: false, note: `LXC ${node.volumeName} on ${nodeName}` });
    const described = await describeJson();
    expect(described).toMatchObject({ name: scheduleName, paused: false, runs: [] });
    expect(described.nextRuns.length).toBeGreaterThan(0);

    // A name that would make a bad schedule ID is refused as bad input.
    expect((await sharemount(['schedule', 'create', 'no spaces', 'lxc', '--config', node.configFile, '--every', '1h'])).code).toBe(2);
  });

  test('the first triggered run converges the volume and describe reports what it fixed', async () => {
    expect(ownerOf(deepFile)).toBe(NOBODY);
    const { workflowId, result } = await triggerAndAwait();
    expect(workflowId.startsWith(`sharemount-lxc-${nodeName}-apply-scheduled`)).toBe(true);
    expect(result.ok).toBe(true);
    const volume = result.volumes[0].result!;
    expect(result.volumes.map((v) => v.name)).toEqual([node.volumeName]);
    // root, llama/, shards/, 200 shards and README: every entry was nobody:nogroup.
    expect(volume.ownership.changed).toBe(204);
    expect(volume.changes).toBeGreaterThan(0);
    expect(ownerOf(deepFile)).toBe(CONTAINER_ROOT);
    expect(ownerOf(node.volumePath)).toBe(CONTAINER_ROOT);
    expect(pctSetCalls(node.pctLog)).toHaveLength(2); // mp1 in CT 950 (mp0 taken), mp0 in CT 951

    // Scheduled runs tell the same story in the UI: a static summary, and the volume and backend to filter by.
    const described = await client.workflow.getHandle(workflowId).describe();
    await expect(described.staticSummary()).resolves.toBe(`scheduled LXC re-apply of ${node.configFile} on ${nodeName}`);
    expect(described.typedSearchAttributes.get(VOLUME_ATTRIBUTE)).toEqual([node.volumeName]);
    expect(described.typedSearchAttributes.get(BACKEND_ATTRIBUTE)).toBe('lxc');

    const run = await describedRun(workflowId);
    expect(run).toMatchObject({ status: 'COMPLETED', drift: { drifted: true } });
    expect(run!.drift!.lines).toContain(`${node.volumeName}: fixed owner of 204 entries → ${CONTAINER_ROOT}`);
  });

  test('a triggered run on the converged host changes nothing: no entry, no pct set, describe says converged', async () => {
    const setCallsBefore = pctSetCalls(node.pctLog).length;
    const confsBefore = ['950', '951'].map((ct) => fs.readFileSync(path.join(node.pveDir, 'lxc', `${ct}.conf`), 'utf8'));
    const { workflowId, result } = await triggerAndAwait();
    expect(result.ok).toBe(true);
    const volume = result.volumes[0].result!;
    expect(volume.changes).toBe(0);
    expect(volume.ownership.changed).toBe(0);
    expect(volume.mounts.map((m) => m.state)).toEqual(['present', 'present']);
    expect(pctSetCalls(node.pctLog)).toHaveLength(setCallsBefore);
    expect(['950', '951'].map((ct) => fs.readFileSync(path.join(node.pveDir, 'lxc', `${ct}.conf`), 'utf8'))).toEqual(confsBefore);

    const run = await describedRun(workflowId);
    expect(run).toMatchObject({ status: 'COMPLETED', drift: { drifted: false, lines: ['converged: no drift found'] } });
  });

  test('after someone chowns one deep file back to nobody:nogroup, the next run fixes exactly that file and says so', async () => {
    const chown = spawnSync('chown', [NOBODY, deepFile], { encoding: 'utf8' });
    expect(chown.status).toBe(0);
    expect(ownerOf(deepFile)).toBe(NOBODY);
    const setCallsBefore = pctSetCalls(node.pctLog).length;

    const { workflowId, result } = await triggerAndAwait();
    expect(result.ok).toBe(true);
    expect(result.volumes[0].result!.ownership.changed).toBe(1);
    expect(ownerOf(deepFile)).toBe(CONTAINER_ROOT);
    expect(pctSetCalls(node.pctLog)).toHaveLength(setCallsBefore);

    const run = await describedRun(workflowId);
    expect(run).toMatchObject({ status: 'COMPLETED', drift: { drifted: true } });
    expect(run!.drift!.lines).toEqual([`${node.volumeName}: fixed owner of 1 entries → ${CONTAINER_ROOT}`]);

    // The human-readable describe says the same.
    const text = await sharemount(['schedule', 'describe', scheduleName]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${workflowId} COMPLETED\n  ${node.volumeName}: fixed owner of 1 entries → ${CONTAINER_ROOT}`);
  });

  test('the EFS equivalent: a paused schedule on the general queue (SHAREMOUNT_TASK_QUEUE) with pause-on-failure and a catch-up window', async () => {
    const efsName = `efs-${suffix}`;
    const queue = `sharemount-test-${suffix}`;
    efsSchedules.push(efsName);
    const created = await sharemountJson<{ scheduleId: string; every: string; catchupWindow: string; pauseOnFailure: boolean }>(
      [
        'schedule',
        'create',
        efsName,
        'efs',
        `research${suffix}`,
        'i-0123456789abcdef0',
        '--every',
        '1d',
        '--catchup-window',
        '2h',
        '--pause-on-failure',
        '--paused',
        '--json',
      ],
      { env: { SHAREMOUNT_TASK_QUEUE: queue } },
    );
    expect(created).toEqual({ scheduleId: `sharemount-schedule-${efsName}`, every: '1d', catchupWindow: '2h', pauseOnFailure: true });
    const description = await client.schedule.getHandle(created.scheduleId).describe();
    expect(description.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'efsMountWorkflow',
      taskQueue: queue,
      workflowId: `sharemount-efs-research${suffix}-mount`,
      args: [{ volumeName: `research${suffix}`, instanceIds: ['i-0123456789abcdef0'] }],
    });
    expect(description.policies).toMatchObject({ overlap: 'SKIP', pauseOnFailure: true, catchupWindow: 2 * 3600 * 1000 });
    expect(description.state.paused).toBe(true);
    expect(await describeJson()).toMatchObject({ name: scheduleName }); // the LXC one is unaffected
    const efsDescribed = await sharemountJson<DescribeJson>(['schedule', 'describe', efsName, '--json']);
    expect(efsDescribed).toMatchObject({ name: efsName, paused: true, note: `EFS research${suffix} on i-0123456789abcdef0`, runs: [] });
    // Intervals under a minute would hammer hosts: refused as bad input.
    expect((await sharemount(['schedule', 'create', `${efsName}-x`, 'efs', 'research', 'i-0123456789abcdef0', '--every', '30s'])).code).toBe(2);
  });

  test('schedule create efs --tag keeps the selectors for every run to resolve; a bad selector is exit 2 naming --tag', async () => {
    const tagName = `efs-tag-${suffix}`;
    efsSchedules.push(tagName);
    await sharemountJson([
      'schedule',
      'create',
      tagName,
      'efs',
      `research${suffix}`,
      '--tag',
      'Project=research',
      '--every',
      '15m',
      '--paused',
      '--batch-ssm',
      '--json',
    ]);
    const description = await client.schedule.getHandle(`sharemount-schedule-${tagName}`).describe();
    expect(description.action).toMatchObject({
      workflowType: 'efsMountWorkflow',
      args: [{ volumeName: `research${suffix}`, instanceIds: [], tags: [{ key: 'Project', values: ['research'] }], batchSsm: true }],
    });
    expect(description.state.note).toBe(`EFS research${suffix} on instances tagged Project=research`);
    const refused = await sharemount(['schedule', 'create', `${tagName}-x`, 'efs', `research${suffix}`, '--tag', 'Project=re*', '--every', '15m']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--tag: "re\*" is not an AWS tag value/);
    const none = await sharemount(['schedule', 'create', `${tagName}-y`, 'efs', `research${suffix}`, '--every', '15m']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--tag Key=Value/);
  });

  test('schedule create efs checks every argument as a one-off efs mount does: exit 2, the field named, no schedule made', async () => {
    const refusedName = `efs-refused-${suffix}`;
    efsSchedules.push(refusedName);
    const cases: Array<[string, string, RegExp]> = [
      ['--gid', 'abc', /--gid: "abc" is not a whole number/],
      ['--gid', '100', /--gid: 100 is outside 1000\.\.60000/],
      ['--mount-point', 'mnt/research', /--mount-point: "mnt\/research"/],
      ['--group', 'wheel', /--group: "wheel" is a privileged group/],
    ];
    for (const [flag, value, message] of cases) {
      const refused = await sharemount(['schedule', 'create', refusedName, 'efs', `research${suffix}`, 'i-0123456789abcdef0', '--every', '1h', flag, value]);
      expect({ flag, value, code: refused.code }).toEqual({ flag, value, code: 2 });
      expect(refused.stderr).toMatch(message);
    }
    // Two bad fields are reported together, as efs mount does (a number that is not one stops the parse first).
    const both = await sharemount([
      'schedule',
      'create',
      refusedName,
      'efs',
      `research${suffix}`,
      'i-0123456789abcdef0',
      '--every',
      '1h',
      '--mount-point',
      'mnt/research',
      '--group',
      'wheel',
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--mount-point[\s\S]*--group|--group[\s\S]*--mount-point/);
    await expect(client.schedule.getHandle(`sharemount-schedule-${refusedName}`).describe()).rejects.toThrow();
  });

  test('pause and resume show in describe and list; delete removes the schedule', async () => {
    expect(await sharemountJson(['schedule', 'pause', scheduleName, '--json'])).toEqual({ schedule: scheduleName, pause: true });
    expect(await describeJson()).toMatchObject({ paused: true });
    const whilePaused = await listedUntil((all) => all.some((s) => s.name === scheduleName && s.paused));
    expect(whilePaused.find((s) => s.name === scheduleName)).toMatchObject({ paused: true });
    expect((await scheduleHandle().describe()).state.paused).toBe(true);

    expect(await sharemountJson(['schedule', 'resume', scheduleName, '--json'])).toEqual({ schedule: scheduleName, resume: true });
    expect(await describeJson()).toMatchObject({ paused: false });
    expect((await scheduleHandle().describe()).state.paused).toBe(false);
    const resumed = await listedUntil((all) => all.some((s) => s.name === scheduleName && !s.paused));
    expect(resumed.find((s) => s.name === scheduleName)).toMatchObject({ paused: false });

    expect(await sharemountJson(['schedule', 'delete', scheduleName, '--json'])).toEqual({ schedule: scheduleName, delete: true });
    created = false;
    const gone = await sharemount(['schedule', 'describe', scheduleName, '--json']);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain(`no schedule ${scheduleName}`);
    const afterDelete = await listedUntil((all) => !all.some((s) => s.name === scheduleName));
    expect(afterDelete.map((s) => s.name)).not.toContain(scheduleName);
  });
});
