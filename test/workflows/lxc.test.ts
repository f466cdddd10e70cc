/**
 * The LXC workflows' failure paths: the real config loader and container reads over a scratch Proxmox
 * directory, the real bindMountPoint where it needs no pct, and a stub for the ownership walk.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { WorkflowStartOptions } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, type Workflow } from '@temporalio/common';
import { createActivities } from '../../src/activities';
import type { LxcVolume } from '../../src/domain/lxc/volume';
import { lxcVolumeWorkflowId } from '../../src/domain/workflowIds';
import { lxcTaskQueue } from '../../src/domain/taskQueues';
import { lxcApplyWorkflow, lxcVolumeWorkflow } from '../../src/workflows';
import { withWorker } from '../support/temporal';
import { STAND_IN_PCT } from '../integration/lxc-support';
import { EXECUTION_TIMEOUT, eventually, recorded, runFailure, uniqueName, untilCancelled, workflowHarness } from './stubs';

const DRIFTED_CT = 950;
const BOUND = '/srv/other';
const harness = workflowHarness([
  'loadLxcConfig',
  'readContainer',
  'readHostUsers',
  'readCluster',
  'inspectHostPaths',
  'bindMountPoint',
  'applyOwnership',
  'readPveContainerVersion',
]);
let scratch: string;
let pveDir: string;

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-wf-lxc-'));
  pveDir = path.join(scratch, 'pve');
  fs.mkdirSync(path.join(pveDir, 'lxc'), { recursive: true });
  fs.mkdirSync(path.join(scratch, 'running'));
  // CT 950 already binds another host path at /data.
  fs.writeFileSync(path.join(pveDir, 'lxc', `${DRIFTED_CT}.conf`), `arch: amd64\nhostname: ct${DRIFTED_CT}\nunprivileged: 1\nmp0: ${BOUND},mp=/data\n`);
});
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function lxcStubs(overrides: Record<string, (...args: any[]) => Promise<unknown>> = {}) {
  const real = createActivities({ pveDir, pct: '/bin/false', runningDir: path.join(scratch, 'running'), awsIdentity: async () => ({}) } as never);
  return recorded({
    loadLxcConfig: real.loadLxcConfig,
    readContainer: real.readContainer,
    readHostUsers: real.readHostUsers,
    // dpkg knows no pve-container on a test machine: the version is unknown, so auto means chown
    readPveContainerVersion: real.readPveContainerVersion,
    // the host paths are not made on this machine: each is a directory as far as the workflow is told
    inspectHostPaths: async (paths: string[]) => Object.fromEntries(paths.map((p, ino) => [p, { path: p, exists: true, isDirectory: true, dev: 1, ino }])),
    bindMountPoint: real.bindMountPoint,
    applyOwnership: async (input: { volume: string; root: string; uid: number; gid: number }) => ({
      ...input,
      changed: 0,
      refusedCount: 0,
      refused: [],
      skippedByRootCheck: true,
      rootLeft: false,
    }),
    ...overrides,
  });
}

const volume = (name: string, hostPath: string, ctid: number, containerPath: string): LxcVolume => ({
  name,
  hostPath,
  owner: { kind: 'container_root' },
  mounts: [{ ctid, containerPath }],
});

const start = <W extends Workflow>(workflow: W, taskQueue: string, args: Parameters<W>) =>
  harness.client().workflow.start(workflow, {
    taskQueue,
    workflowId: uniqueName('wf-lxc-'),
    args,
    workflowExecutionTimeout: EXECUTION_TIMEOUT,
  } as unknown as WorkflowStartOptions<W>);

describe('LXC workflows with stub activities', () => {
  test('bad input: a config file that is not JSON fails the apply at once, read once, naming the field', async () => {
    const file = path.join(scratch, 'broken.json');
    fs.writeFileSync(file, '{ "shared_volumes": ');
    const { activities, recorder } = lxcStubs();
    const failure = await harness.run(activities, async (taskQueue) =>
      runFailure(await start(lxcApplyWorkflow, taskQueue, [{ node: uniqueName('n'), configFile: file, fixDrift: false, fullScan: false }])),
    );
    expect(failure.cause).toMatchObject({ type: 'InvalidInput', nonRetryable: true, message: expect.stringContaining('is not valid JSON') });
    expect(recorder.count('loadLxcConfig')).toBe(1);
  });

  test('bad input: a relative host path fails the volume before any container is read', async () => {
    const { activities, recorder } = lxcStubs();
    const failure = await harness.run(activities, async (taskQueue) =>
      runFailure(
        await start(lxcVolumeWorkflow, taskQueue, [
          { node: uniqueName('n'), volume: volume('models', 'srv/models', DRIFTED_CT, '/models'), fixDrift: false, fullScan: false },
        ]),
      ),
    );
    expect(failure).toMatchObject({ type: 'InvalidInput', nonRetryable: true, message: expect.stringContaining('host_path') });
    expect(recorder.count('readContainer')).toBe(0);
  });

  test('an unknown container fails its volume with the missing config named; nothing is chowned', async () => {
    const { activities, recorder } = lxcStubs();
    const result = await harness.run(activities, async (taskQueue) =>
      (
        await start(lxcApplyWorkflow, taskQueue, [
          { node: uniqueName('n'), volumes: [volume('models', '/srv/models', 999, '/models')], fixDrift: false, fullScan: false },
        ])
      ).result(),
    );
    expect(result.ok).toBe(false);
    expect(result.volumes[0]).toMatchObject({ name: 'models', ok: false, error: expect.stringContaining('container 999 does not exist') });
    expect(recorder.count('applyOwnership')).toBe(0);
  });

  test('drift is left alone without --fix-drift: the volume fails saying so, and the container config is unchanged', async () => {
    const conf = path.join(pveDir, 'lxc', `${DRIFTED_CT}.conf`);
    const before = fs.readFileSync(conf, 'utf8');
    const { activities, recorder } = lxcStubs();
    const result = await harness.run(activities, async (taskQueue) =>
      (
        await start(lxcApplyWorkflow, taskQueue, [
          { node: uniqueName('n'), volumes: [volume('models', '/srv/models', DRIFTED_CT, '/data')], fixDrift: false, fullScan: false },
        ])
      ).result(),
    );
    expect(result.volumes[0]).toMatchObject({ ok: false, error: expect.stringMatching(new RegExp(`mp0 binds ${BOUND} at /data.*--fix-drift`)) });
    expect(recorder.calls.bindMountPoint).toEqual([[expect.objectContaining({ ctid: DRIFTED_CT, fixDrift: false })]]);
    expect(fs.readFileSync(conf, 'utf8')).toBe(before);
  });

  test('a failing child fails its volume alone; the other volume is applied', async () => {
    const { activities } = lxcStubs({
      applyOwnership: async (input: { volume: string; root: string; uid: number; gid: number }) => {
        if (input.volume === 'broken') throw ApplicationFailure.nonRetryable(`volume broken: ${input.root} does not exist`, 'VolumeNotFound');
        return { ...input, changed: 0, refusedCount: 0, refused: [], skippedByRootCheck: true };
      },
    });
    const volumes = [volume('broken', '/srv/broken', DRIFTED_CT, '/broken'), volume('present', BOUND, DRIFTED_CT, '/data')];
    const result = await harness.run(activities, async (taskQueue) =>
      (await start(lxcApplyWorkflow, taskQueue, [{ node: uniqueName('n'), volumes, fixDrift: false, fullScan: false }])).result(),
    );
    expect(result.ok).toBe(false);
    const byName = Object.fromEntries(result.volumes.map((v) => [v.name, v]));
    expect(byName.broken).toMatchObject({ ok: false, error: expect.stringContaining('/srv/broken does not exist') });
    expect(byName.present).toMatchObject({ ok: true, result: { changes: 0, mounts: [expect.objectContaining({ state: 'present' })] } });
  });

  test('cancellation ends the apply as cancelled, and cancels the volume child and its walk', async () => {
    const { activities, recorder } = lxcStubs({ applyOwnership: untilCancelled });
    const node = uniqueName('n');
    await harness.run(activities, async (taskQueue) => {
      const handle = await start(lxcApplyWorkflow, taskQueue, [
        { node, volumes: [volume('present', BOUND, DRIFTED_CT, '/data')], fixDrift: false, fullScan: false },
      ]);
      await eventually('the walk to start', () => recorder.count('applyOwnership') > 0);
      await handle.cancel();
      expect(await runFailure(handle)).toBeInstanceOf(CancelledFailure);
      const child = harness.client().workflow.getHandle(lxcVolumeWorkflowId(node, 'present'));
      await eventually('the child to be cancelled', async () => (await child.describe()).status.name === 'CANCELLED');
      await eventually('the walk to see its cancellation', () => recorder.cancelled.includes('applyOwnership'));
    });
  });

  test('the idmap strategy: containers with different maps get idmap= entries to one disk owner, and a tree already its own is not walked', async () => {
    const pve = path.join(scratch, 'pve-idmap');
    fs.mkdirSync(path.join(pve, 'lxc'), { recursive: true });
    fs.mkdirSync(path.join(pve, 'running'));
    fs.writeFileSync(path.join(pve, 'lxc', '970.conf'), 'arch: amd64\nunprivileged: 1\n');
    fs.writeFileSync(path.join(pve, 'lxc', '971.conf'), 'arch: amd64\nunprivileged: 1\nlxc.idmap: u 0 300000 65536\nlxc.idmap: g 0 300000 65536\n');
    const tree = path.join(scratch, 'idmap-tree');
    fs.mkdirSync(path.join(tree, 'sub'), { recursive: true });
    for (const entry of [tree, path.join(tree, 'sub')]) fs.chownSync(entry, 100000, 100000);
    const real = createActivities({
      pveDir: pve,
      pct: STAND_IN_PCT,
      pctEnv: { SHAREMOUNT_PVE_DIR: pve },
      runningDir: path.join(pve, 'running'),
      pveContainerVersion: '6.1.6',
      awsIdentity: async () => ({}),
    } as never);
    const { activities, recorder } = recorded({
      readContainer: real.readContainer,
      readHostUsers: real.readHostUsers,
      readPveContainerVersion: real.readPveContainerVersion,
      inspectHostPaths: real.inspectHostPaths,
      bindMountPoint: real.bindMountPoint,
      applyOwnership: real.applyOwnership,
    });
    const vol: LxcVolume = {
      name: uniqueName('v'),
      hostPath: tree,
      owner: { kind: 'container_root' },
      mounts: [
        { ctid: 970, containerPath: '/share' },
        { ctid: 971, containerPath: '/share' },
      ],
    };
    const result = await harness.run(activities, async (taskQueue) =>
      (await start(lxcApplyWorkflow, taskQueue, [{ node: uniqueName('n'), volumes: [vol], fixDrift: false, fullScan: false }])).result(),
    );
    expect(result.ok).toBe(true);
    const applied = result.volumes[0].result!;
    expect(applied.strategy).toMatchObject({ name: 'idmap', requested: 'auto' });
    expect(applied.owner).toEqual({ uid: 100000, gid: 100000 });
    expect(applied.ownership).toMatchObject({ changed: 0, skippedByRootCheck: true });
    for (const ctid of [970, 971]) {
      expect(fs.readFileSync(path.join(pve, 'lxc', `${ctid}.conf`), 'utf8')).toContain(
        `mp0: ${tree},mp=/share,mountoptions=nosuid;nodev,idmap=u:0:100000:1;g:0:100000:1\n`,
      );
    }
    expect(recorder.count('bindMountPoint')).toBe(2);
  });

  describe("a two-node cluster: each container's steps go to its own node's worker (lxc:<node>)", () => {
    const nodeA = uniqueName('pa');
    const nodeB = uniqueName('pb');
    let clusterDir: string;
    beforeAll(() => {
      clusterDir = path.join(scratch, 'cluster');
      for (const [node, ctid] of [
        [nodeA, 201],
        [nodeB, 202],
        [nodeB, 203],
      ] as const) {
        fs.mkdirSync(path.join(clusterDir, 'nodes', node, 'lxc'), { recursive: true });
        fs.writeFileSync(path.join(clusterDir, 'nodes', node, 'lxc', `${ctid}.conf`), 'arch: amd64\nunprivileged: 1\n');
      }
      const ids = {
        201: { node: nodeA, type: 'lxc', version: 1 },
        202: { node: nodeB, type: 'lxc', version: 1 },
        203: { node: nodeB, type: 'lxc', version: 1 },
      };
      fs.writeFileSync(path.join(clusterDir, '.vmlist'), JSON.stringify({ version: 3, ids }));
      fs.writeFileSync(path.join(clusterDir, 'storage.cfg'), 'nfs: tank\n\tpath /mnt/pve/tank\n\tserver 10.0.0.5\n\texport /tank\n');
    });

    /** The node's own steps, recording which node ran them. */
    const nodeSteps = (node: string, ran: string[]) => ({
      readPveContainerVersion: async () => ({ version: '6.1.5' }),
      inspectHostPaths: async (paths: string[]) => (
        ran.push(`${node} inspect`),
        Object.fromEntries(paths.map((p) => [p, { path: p, exists: true, isDirectory: true, dev: 1, ino: 2 }]))
      ),
      applyOwnership: async (input: { volume: string; root: string; uid: number; gid: number }) => (
        ran.push(`${node} walk`),
        { ...input, changed: 0, refusedCount: 0, refused: [], skippedByRootCheck: true, rootLeft: false }
      ),
      bindMountPoint: async (input: { ctid: number; slot: number }) => (
        ran.push(`${node} bind CT ${input.ctid}`),
        { ctid: input.ctid, slot: input.slot, changed: true, state: 'configured', found: 'new', running: false }
      ),
    });

    const applyOn = async (hostPath: string, ctids: number[], ran: string[]) => {
      const real = createActivities({
        pveDir: clusterDir,
        nodeName: nodeA,
        pct: '/bin/false',
        runningDir: path.join(scratch, 'running'),
        awsIdentity: async () => ({}),
      } as never);
      const { activities } = recorded({
        readContainer: real.readContainer,
        readCluster: real.readCluster,
        readHostUsers: real.readHostUsers,
        ...nodeSteps(nodeA, ran),
      });
      const vol: LxcVolume = {
        name: uniqueName('v'),
        hostPath,
        owner: { kind: 'container_root' },
        mounts: ctids.map((ctid) => ({ ctid, containerPath: '/share' })),
      };
      return withWorker({ taskQueue: lxcTaskQueue(nodeB), activities: nodeSteps(nodeB, ran) }, () =>
        harness.run(activities, async (taskQueue) =>
          (await start(lxcApplyWorkflow, taskQueue, [{ node: nodeA, volumes: [vol], fixDrift: false, fullScan: false }])).result(),
        ),
      );
    };

    test('a volume on shared storage: one walk here, each pct set on the node that holds the container', async () => {
      const ran: string[] = [];
      const result = await applyOn('/mnt/pve/tank/share', [201, 202], ran);
      expect(result.ok).toBe(true);
      expect(ran.sort()).toEqual([`${nodeA} bind CT 201`, `${nodeA} inspect`, `${nodeA} walk`, `${nodeB} bind CT 202`].sort());
    });

    test('a local path whose containers are all on the other node is walked there, once', async () => {
      const ran: string[] = [];
      const result = await applyOn('/srv/local', [202, 203], ran);
      expect(result.ok).toBe(true);
      expect(ran.sort()).toEqual([`${nodeB} bind CT 202`, `${nodeB} bind CT 203`, `${nodeB} inspect`, `${nodeB} walk`]);
    });

    test('a local path with containers on both nodes fails before any change, saying so', async () => {
      const ran: string[] = [];
      const result = await applyOn('/srv/local', [201, 202], ran);
      expect(result.volumes[0]).toMatchObject({
        ok: false,
        error: expect.stringMatching(/not on storage that storage.cfg marks shared.*CT 201 on .*CT 202 on /),
      });
      expect(ran).toEqual([]);
    });
  });
});
