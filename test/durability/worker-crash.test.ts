/**
 * Worker crash: one LXC apply over 16 containers (8 volumes, 32 mounts) and one EFS mount over 5 instances
 * (21 targets) run on a worker in a separate process that is SIGKILLed at random moments and restarted,
 * several times. Every workflow must complete, every target converge (owners by lstat, mpN lines in the
 * confs, fstab / group / mount / umask in the sandboxes), nothing be duplicated, and the step executions
 * (pct log, commands the SSM emulator ran, activity attempts in the workflow histories) must show that only
 * steps in flight at a kill ran again.
 *
 * Re-run with the same kill moments: SHAREMOUNT_CRASH_SEED=<seed from the summary line>.
 */
import type { WorkflowHandle } from '@temporalio/client';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { efsInstanceWorkflowId, efsRunWorkflowId, lxcApplyWorkflowId, lxcVolumeWorkflowId } from '../../src/domain/workflowIds';
import type { EfsRunResult, LxcApplyResult } from '../../src/workflows';
import { describeNeeding, needs } from '../support/requires';
import {
  checkEfsFleet,
  checkLxcFleet,
  EfsFleet,
  fleetWorkerConfig,
  LxcFleet,
  makeEfsFleet,
  makeLxcFleet,
  pctSetCounts,
  seededRandom,
  sentCounts,
  sleep,
  tmpLogDir,
} from '../support/fleet';
import { activityRecords } from '../support/history';
import { testClient, testServerAddress, uniqueTaskQueue } from '../support/temporal';
import { killAllWorkerProcesses, startWorkerProcess, WorkerProcess } from '../support/workerProcess';

const KILLS = Number(process.env.SHAREMOUNT_CRASH_KILLS ?? 4);
const INSTANCES = 5;

describeNeeding([needs.rootNamespaces()], 'worker SIGKILLed mid-run, several times', () => {
  let lxc: LxcFleet | undefined;
  let efs: EfsFleet | undefined;
  let closeClient: (() => Promise<void>) | undefined;
  const logDir = tmpLogDir('worker-crash');

  afterAll(async () => {
    await killAllWorkerProcesses();
    await closeClient?.();
    await efs?.cleanup();
    lxc?.cleanup();
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  test('every workflow completes, every target converges, completed steps never run again', async () => {
    const seed = Number(process.env.SHAREMOUNT_CRASH_SEED ?? Date.now() % 1_000_000);
    const random = seededRandom(seed);
    const tag = uniqueTaskQueue('c').slice(2, 10);
    const node = `crash${tag}`;
    const volumeName = `crash${tag}`;
    lxc = makeLxcFleet(node, 400);
    efs = await makeEfsFleet(volumeName, INSTANCES, { invisiblePolls: 1 });
    const lxcQueue = uniqueTaskQueue('crash-lxc');
    const generalQueue = uniqueTaskQueue('crash-general');
    const config = fleetWorkerConfig(testServerAddress(), lxcQueue, generalQueue, lxc, efs);
    let generation = 0;
    const start = () => startWorkerProcess(config, path.join(logDir, `worker-${generation++}.log`));

    const { client, close } = await testClient();
    closeClient = close;
    const began = Date.now();
    let worker: WorkerProcess = await start();
    const lxcHandle: WorkflowHandle = await client.workflow.start('lxcApplyWorkflow', {
      taskQueue: lxcQueue,
      workflowId: lxcApplyWorkflowId(node),
      args: [{ node, volumes: lxc.volumes, fixDrift: false, fullScan: false, concurrency: 2 }],
    });
    const efsHandle: WorkflowHandle = await client.workflow.start('efsMountWorkflow', {
      taskQueue: generalQueue,
      workflowId: efsRunWorkflowId('mount', volumeName),
      args: [{ volumeName, instanceIds: efs.instanceIds, concurrency: 10 }],
    });
    let finished = false;
    const results = Promise.all([lxcHandle.result() as Promise<LxcApplyResult>, efsHandle.result() as Promise<EfsRunResult>]);
    results.then(
      () => (finished = true),
      () => (finished = true),
    );

    const kills: Array<{ atMs: number; afterReadyMs: number }> = [];
    for (let k = 0; k < KILLS && !finished; k++) {
      const delay = Math.round(700 + random() * 3300);
      await Promise.race([sleep(delay), results.catch(() => undefined)]);
      if (finished) break;
      await worker.kill('SIGKILL');
      kills.push({ atMs: Date.now() - began, afterReadyMs: delay });
      await sleep(Math.round(random() * 1000)); // the worker stays down a moment
      worker = await start();
    }
    const [lxcResult, efsResult] = await results;
    const durationMs = Date.now() - began;
    await worker.kill('SIGTERM');

    // Every workflow completed with every target ok.
    expect(lxcResult.ok).toBe(true);
    expect(lxcResult.volumes.map((v) => [v.name, v.ok])).toEqual(lxc.volumes.map((v) => [v.name, true]));
    expect(efsResult.ok).toBe(true);
    expect(efsResult.instances.map((i) => [i.instanceId, i.ok])).toEqual(efs.instanceIds.map((id) => [id, true]));

    // Converged, from the files themselves; nothing duplicated.
    const lxcState = checkLxcFleet(lxc);
    expect(lxcState.wrongOwners).toEqual([]);
    expect(lxcState.missingMounts).toEqual([]);
    expect(lxcState.duplicates).toEqual([]);
    const efsState = await checkEfsFleet(efs);
    expect(efsState.notConverged).toEqual([]);
    expect(efsState.duplicates).toEqual([]);

    // Step executions. pct: one `set` per mount, even across kills (a retried bindMountPoint finds it done).
    const mounts = lxc.volumes.reduce((n, v) => n + v.mounts.length, 0);
    const pct = pctSetCounts(lxc);
    expect([...pct.values()].reduce((a, b) => a + b, 0)).toBe(mounts);
    expect([...pct.entries()].filter(([, n]) => n > 1)).toEqual([]);

    // Temporal: every step scheduled once per workflow (replay never re-ran a completed step), all completed;
    // the ones that took more than one attempt were in flight at a kill, at most one per target per kill.
    let retried = 0;
    const retriedSteps: string[] = [];
    for (const volume of lxc.volumes) {
      const records = await activityRecords(client.workflow.getHandle(lxcVolumeWorkflowId(node, volume.name)));
      const expected = [
        ...volume.mounts.map(() => 'readContainer'),
        ...(volume.owner.kind === 'user' ? ['readHostUsers'] : []),
        'inspectHostPaths',
        'readPveContainerVersion', // once: every container is on this node
        'applyOwnership',
        ...volume.mounts.map(() => 'bindMountPoint'),
      ];
      expect(records.map((r) => r.type).sort()).toEqual(expected.sort());
      expect(records.every((r) => r.completed)).toBe(true);
      const again = records.filter((r) => r.attempts > 1);
      expect(again.length).toBeLessThanOrEqual(kills.length * volume.mounts.length);
      retried += again.length;
      retriedSteps.push(...again.map((r) => `${volume.name}:${r.type}#${r.attempts}`));
    }
    const efsRetried = new Map<string, number>();
    for (const id of efs.instanceIds) {
      const records = await activityRecords(client.workflow.getHandle(efsInstanceWorkflowId(volumeName, id)));
      expect(records.map((r) => r.type)).toEqual(Array(7).fill('runStepOnInstance'));
      expect(records.every((r) => r.completed)).toBe(true);
      const again = records.filter((r) => r.attempts > 1);
      expect(again.length).toBeLessThanOrEqual(kills.length);
      retried += again.length;
      efsRetried.set(id, again.length);
      retriedSteps.push(...records.flatMap((r, i) => (r.attempts > 1 ? [`${id}:step${i}#${r.attempts}`] : [])));
    }
    const parentRecords = await activityRecords(efsHandle);
    expect(parentRecords.map((r) => r.type)).toEqual([
      'ensureFileSystem',
      'awaitFileSystemAvailable',
      'locateInstances',
      'checkAgents',
      'ensureNfsSecurityGroup',
      'ensureMountTargets',
      'awaitMountTargetsAvailable',
      // gatherInstanceFacts on each instance, from the parent, before any child starts.
      ...efs.instanceIds.map(() => 'runStepOnInstance'),
    ]);
    retried += parentRecords.filter((r) => r.attempts > 1).length;

    // SSM: each step's script ran on each instance; a second run only for a step that Temporal retried (its
    // command id was not yet heartbeated when the worker died), never for a step that had completed.
    const sent = sentCounts(efs);
    // A facts step the parent retried may have been sent twice too.
    const parentGatherRetries = parentRecords.filter((r) => r.type === 'runStepOnInstance' && r.attempts > 1).length;
    let resent = 0;
    for (const id of efs.instanceIds) {
      for (const step of ['gatherInstanceFacts', 'installEfsUtils', 'ensureGroup', 'addUsers', 'mountVolume', 'prepareLayout', 'persistFstab', 'setUmask']) {
        const n = sent.get(`${id} ${step}`) ?? 0;
        expect(n).toBeGreaterThanOrEqual(1);
        resent += n - 1;
      }
      const extra = efs.instanceIds.includes(id) ? [...sent.entries()].filter(([k, n]) => k.startsWith(id) && n > 1).length : 0;
      expect(extra).toBeLessThanOrEqual(efsRetried.get(id)! + parentGatherRetries);
    }
    expect(sent.get('unplanned script')).toBeUndefined();

    expect(kills.length).toBeGreaterThanOrEqual(Math.min(KILLS, 2));
    const summary = {
      scenario: 'worker-crash',
      seed,
      targets: lxc.ctids.length + efs.instanceIds.length,
      mounts,
      kills: kills.length,
      killMomentsMs: kills.map((k) => k.atMs),
      workflowsCompleted: 2 + lxc.volumes.length + efs.instanceIds.length,
      retriedActivities: retried,
      retriedSteps,
      ssmCommandsRerun: resent,
      pctSetDuplicates: [...pct.values()].filter((n) => n > 1).length,
      duplicates: lxcState.duplicates.length + efsState.duplicates.length,
      wrongOwners: lxcState.wrongOwners.length,
      entriesChecked: lxcState.entries,
      durationMs,
    };
    console.log(`SUMMARY ${JSON.stringify(summary)}`);
  }, 300_000);
});
