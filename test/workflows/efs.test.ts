/**
 * The EFS workflows' failure paths with stub activities: bad input, an unknown instance, a failing child and
 * cancellation each end the run at once, with the failure or result that says what happened.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { EFSClient } from '@aws-sdk/client-efs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { WorkflowStartOptions } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, type Workflow } from '@temporalio/common';
import { createEfsActivities } from '../../src/activities/efs';
import type { InstanceNetwork } from '../../src/domain/efs/network';
import { efsInstanceWorkflowId } from '../../src/domain/workflowIds';
import { efsCreateWorkflow, efsInstanceWorkflow, efsMountWorkflow, efsUnmountWorkflow } from '../../src/workflows';
import { progressQuery } from '../../src/workflows/definitions';
import { EXECUTION_TIMEOUT, eventually, recorded, runFailure, uniqueName, untilCancelled, workflowHarness } from './stubs';

const FS_ID = 'fs-0123456789abcdef0';
const [A, B] = ['i-0aaaaaaaaaaaaaaa1', 'i-0bbbbbbbbbbbbbbb2'];

function network(instanceId: string, vpcId = 'vpc-0aaaa1111', zone = 'us-east-1a'): InstanceNetwork {
  return { instanceId, vpcId, subnetId: `subnet-${instanceId.slice(2, 10)}`, availabilityZone: zone, securityGroupIds: ['sg-0123abcd'] };
}

const AMAZON_LINUX = 'SHAREMOUNT_FACT os amzn|2023|fedora\nSHAREMOUNT_FACT user ec2-user 1000 1000\nSHAREMOUNT_FACT mount-efs no\n';
const CONVERGED = `${AMAZON_LINUX}SHAREMOUNT_FACT converged yes\n`;
const UBUNTU = 'SHAREMOUNT_FACT os ubuntu|24.04|debian\nSHAREMOUNT_FACT user ubuntu 1000 1000\nSHAREMOUNT_FACT mount-efs no\n';

/** What gatherInstanceFacts prints on an instance: Amazon Linux 2023 unless the test says otherwise. */
function factsStep(facts: Record<string, string> = {}) {
  return async ({ instanceId, step }: { instanceId: string; step: string }) => ({
    instanceId,
    step,
    commandId: 'c-1',
    exitCode: 0,
    changed: [],
    unchanged: [],
    users: [],
    stdout: step === 'gatherInstanceFacts' ? (facts[instanceId] ?? AMAZON_LINUX) : '',
    stderr: '',
  });
}

/** runStepOnInstances answering per instance: facts as given, every other step ok unless `verdicts` says otherwise. */
function batchedSteps(facts: Record<string, string> = {}, verdicts: (step: string, instanceId: string) => 'ok' | 'retry' | 'failed' = () => 'ok') {
  return async ({ step, instanceIds }: { step: string; instanceIds: string[] }) => ({
    commandId: `c-${step}`,
    ssmCalls: 2,
    instances: instanceIds.map((instanceId) => {
      const verdict = verdicts(step, instanceId);
      return {
        instanceId,
        verdict,
        exitCode: verdict === 'ok' ? 0 : 1,
        changed: verdict === 'ok' && step !== 'gatherInstanceFacts' ? [`${step} done`] : [],
        unchanged: [],
        users: [],
        stdout: step === 'gatherInstanceFacts' ? (facts[instanceId] ?? AMAZON_LINUX) : '',
        stderr: '',
        ...(verdict === 'ok' ? {} : { error: `${step} on ${instanceId} failed: ${verdict}` }),
      };
    }),
  });
}

/** A healthy AWS and fleet; a test overrides the activity whose failure it is about. */
function efsStubs(overrides: Record<string, (...args: any[]) => Promise<unknown>> = {}) {
  return recorded({
    ensureFileSystem: async () => ({ fileSystemId: FS_ID, created: true }),
    findFileSystem: async () => ({ fileSystemId: FS_ID, lifeCycleState: 'available' }),
    awaitFileSystemAvailable: async () => ({ fileSystemId: FS_ID, lifeCycleState: 'available' }),
    locateInstances: async ({ instanceIds }: { instanceIds: string[] }) => ({ found: instanceIds.map((id) => network(id)), unknown: [] }),
    checkAgents: async ({ instanceIds }: { instanceIds: string[] }) => ({ ready: instanceIds, notReady: [] }),
    ensureNfsSecurityGroup: async () => ({ securityGroupId: 'sg-0nfs0001', created: true, rulesAdded: [] }),
    ensureMountTargets: async () => ({ mountTargets: [], securityGroupAddedTo: [] }),
    awaitMountTargetsAvailable: async () => [],
    runStepOnInstance: factsStep(),
    installPackageOnInstance: async () => ({ changed: ['installed AmazonEFSUtils'] }),
    resolveTargets: async ({ instanceIds }: { instanceIds: string[] }) => ({ instanceIds, tagged: [], passedOver: [] }),
    runStepOnInstances: batchedSteps(),
    ...overrides,
  });
}

const harness = workflowHarness(Object.keys(efsStubs().activities));
const start = <W extends Workflow>(workflow: W, taskQueue: string, args: Parameters<W>) =>
  harness.client().workflow.start(workflow, {
    taskQueue,
    workflowId: uniqueName('wf-efs-'),
    args,
    workflowExecutionTimeout: EXECUTION_TIMEOUT,
  } as unknown as WorkflowStartOptions<W>);

describe('EFS workflows with stub activities', () => {
  test('bad input: instances in two VPCs fail efs create at once, non-retryable, naming both VPCs', async () => {
    const { activities, recorder } = efsStubs({
      locateInstances: async () => ({ found: [network(A, 'vpc-0aaaa1111'), network(B, 'vpc-0bbbb2222', 'us-east-1b')], unknown: [] }),
    });
    const failure = await harness.run(activities, async (taskQueue) =>
      runFailure(await start(efsCreateWorkflow, taskQueue, [{ name: uniqueName('vol'), instanceIds: [A, B] }])),
    );
    expect(failure).toBeInstanceOf(ApplicationFailure);
    // efs create takes its instances with --instance: the error names that flag.
    expect(failure).toMatchObject({ type: 'InputError', nonRetryable: true, details: [{ field: '--instance' }] });
    expect(failure.message).toContain('vpc-0aaaa1111');
    expect(failure.message).toContain('vpc-0bbbb2222');
    expect(recorder.count('ensureNfsSecurityGroup')).toBe(0);
  });

  test('bad input: a relative mount point and a bad GID fail efs mount with both fields, before any instance is touched', async () => {
    const { activities, recorder } = efsStubs();
    await harness.run(activities, async (taskQueue) => {
      const handle = await start(efsMountWorkflow, taskQueue, [{ volumeName: uniqueName('vol'), instanceIds: [A], mountPoint: 'mnt/data', gid: 'abc' }]);
      const failure = await runFailure(handle);
      expect(failure).toMatchObject({ type: 'InputErrors', nonRetryable: true });
      expect((failure as ApplicationFailure).details?.map((d) => (d as { field: string }).field)).toEqual(['--mount-point', '--gid']);
      const progress = await handle.query(progressQuery);
      expect(progress.done).toBe(true);
      expect(progress.targets.find((t) => t.target === A)).toMatchObject({ state: 'failed', error: expect.stringContaining('--mount-point') });
    });
    expect(recorder.count('runStepOnInstance')).toBe(0);
  });

  test('bad input: a privileged group fails efs unmount at once', async () => {
    const { activities, recorder } = efsStubs();
    const failure = await harness.run(activities, async (taskQueue) =>
      runFailure(await start(efsUnmountWorkflow, taskQueue, [{ volumeName: uniqueName('vol'), instanceIds: [A], group: 'wheel' }])),
    );
    expect(failure).toMatchObject({ type: 'InputError', nonRetryable: true, details: [{ field: '--group' }] });
    expect(recorder.count('runStepOnInstance')).toBe(0);
  });

  test('bad input: an instance child given a bad plan fails at once', async () => {
    const { activities } = efsStubs();
    const failure = await harness.run(activities, async (taskQueue) =>
      runFailure(
        await start(efsInstanceWorkflow, taskQueue, [
          { volume: 'vol', instanceId: A, plan: { action: 'mount', request: { volumeName: 'vol', fileSystemId: FS_ID, instanceIds: [A], gid: 12 } } },
        ]),
      ),
    );
    expect(failure).toMatchObject({ type: 'InputError', nonRetryable: true, details: [{ field: '--gid' }] });
  });

  test("bad input found by an activity's own validator (the real runStepOnInstance) is not retried", async () => {
    const offline = { region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' } };
    const real = createEfsActivities({ efs: new EFSClient(offline), ec2: new EC2Client(offline), ssm: new SSMClient(offline) });
    const { activities, recorder } = efsStubs({ runStepOnInstance: real.runStepOnInstance });
    // Ready-made steps (the benchmarks' way) skip the plan, so only the activity sees the bad instance ID.
    const steps = [{ step: 'setUmask' as const, summary: 'umask', script: 'true' }];
    const failure = await harness.run(activities, async (taskQueue) =>
      runFailure(await start(efsInstanceWorkflow, taskQueue, [{ volume: 'vol', instanceId: 'i-nothex', steps }])),
    );
    expect(failure.cause).toMatchObject({ type: 'InputError', message: expect.stringContaining('i-nothex') });
    expect(recorder.count('runStepOnInstance')).toBe(1);
  });

  test('bad input: a malformed instance ID fails efs create before anything is created', async () => {
    const { activities, recorder } = efsStubs();
    const failure = await harness.run(activities, async (taskQueue) =>
      runFailure(await start(efsCreateWorkflow, taskQueue, [{ name: uniqueName('vol'), instanceIds: ['i-nothex'] }])),
    );
    expect(failure).toMatchObject({ type: 'InputError', nonRetryable: true, details: [{ field: '--instance' }] });
    expect(recorder.count('ensureFileSystem')).toBe(0);
  });

  test('an unknown instance fails alone: the other is mounted, the result names the unknown one', async () => {
    const { activities, recorder } = efsStubs({
      locateInstances: async () => ({ found: [network(A)], unknown: [{ instanceId: B, reason: `${B}: InvalidInstanceID.NotFound` }] }),
    });
    const result = await harness.run(activities, async (taskQueue) =>
      (await start(efsMountWorkflow, taskQueue, [{ volumeName: uniqueName('vol'), instanceIds: [A, B] }])).result(),
    );
    expect(result.ok).toBe(false);
    expect(result.instances.find((i) => i.instanceId === A)).toMatchObject({ ok: true });
    expect(result.instances.find((i) => i.instanceId === B)).toMatchObject({ ok: false, error: expect.stringContaining('InvalidInstanceID.NotFound') });
    expect(new Set(recorder.calls.runStepOnInstance.map(([input]) => (input as { instanceId: string }).instanceId))).toEqual(new Set([A]));
  });

  test("efs create --subnet puts the mount targets in the given subnets, not the instances' own", async () => {
    const { activities, recorder } = efsStubs();
    const subnetIds = ['subnet-0aaaa1111', 'subnet-0bbbb2222'];
    await harness.run(activities, async (taskQueue) =>
      (await start(efsCreateWorkflow, taskQueue, [{ name: uniqueName('vol'), instanceIds: [A], subnetIds }])).result(),
    );
    expect(recorder.calls.ensureMountTargets).toEqual([[expect.objectContaining({ subnetIds })]]);
  });

  test('no instance exists: efs create fails at once with UnknownInstances', async () => {
    const { activities, recorder } = efsStubs({
      locateInstances: async () => ({ found: [], unknown: [{ instanceId: A, reason: `${A}: InvalidInstanceID.NotFound` }] }),
    });
    const failure = await harness.run(activities, async (taskQueue) =>
      runFailure(await start(efsCreateWorkflow, taskQueue, [{ name: uniqueName('vol'), instanceIds: [A] }])),
    );
    expect(failure).toMatchObject({ type: 'UnknownInstances', nonRetryable: true, message: expect.stringContaining(A) });
    expect(recorder.count('ensureNfsSecurityGroup')).toBe(0);
  });

  test('a failing child fails its instance alone; the run reports which step failed and why', async () => {
    const { activities } = efsStubs({
      runStepOnInstance: async ({ instanceId, step }: { instanceId: string; step: string }) => {
        if (instanceId === B && step === 'mountVolume') throw ApplicationFailure.nonRetryable('mount.efs: connection refused', 'script-failed');
        return factsStep()({ instanceId, step });
      },
    });
    await harness.run(activities, async (taskQueue) => {
      const handle = await start(efsMountWorkflow, taskQueue, [{ volumeName: uniqueName('vol'), instanceIds: [A, B] }]);
      const result = await handle.result();
      expect(result.ok).toBe(false);
      expect(result.instances.find((i) => i.instanceId === A)).toMatchObject({ ok: true });
      expect(result.instances.find((i) => i.instanceId === B)).toMatchObject({ ok: false, error: expect.stringContaining('connection refused') });
      const row = (await handle.query(progressQuery)).targets.find((t) => t.target === B);
      expect(row).toMatchObject({ state: 'failed', step: 'mountVolume', stepsDone: 3 });
    });
  });

  test('facts come first on every instance; the same UID under two names is reported as a collision in the result', async () => {
    const { activities, recorder } = efsStubs({ runStepOnInstance: factsStep({ [A]: UBUNTU, [B]: AMAZON_LINUX }) });
    const result = await harness.run(activities, async (taskQueue) =>
      (await start(efsMountWorkflow, taskQueue, [{ volumeName: uniqueName('vol'), instanceIds: [A, B] }])).result(),
    );
    expect(result.ok).toBe(true);
    const steps = recorder.calls.runStepOnInstance.map(([input]) => (input as { step: string }).step);
    expect(steps.slice(0, 2)).toEqual(['gatherInstanceFacts', 'gatherInstanceFacts']);
    expect(steps.filter((s) => s === 'gatherInstanceFacts')).toHaveLength(2);
    expect(result.identities?.collisions).toEqual([
      expect.objectContaining({ kind: 'same-uid-different-names', shared: '1000', holders: [`ubuntu (UID 1000) on ${A}`, `ec2-user (UID 1000) on ${B}`] }),
    ]);
    expect(result.identities?.collisions[0].meaning).toContain('users/ec2-user/ and users/ubuntu/ all belong to UID 1000');
  });

  test('--user narrows the collisions to the named users', async () => {
    const { activities } = efsStubs({ runStepOnInstance: factsStep({ [A]: UBUNTU, [B]: AMAZON_LINUX }) });
    const result = await harness.run(activities, async (taskQueue) =>
      (await start(efsMountWorkflow, taskQueue, [{ volumeName: uniqueName('vol'), instanceIds: [A, B], users: ['ubuntu'] }])).result(),
    );
    expect(result.identities?.collisions).toEqual([]);
  });

  test('the install route follows os-release: Ubuntu gets the Distributor package AmazonEFSUtils, Amazon Linux its dnf script', async () => {
    const { activities, recorder } = efsStubs({ runStepOnInstance: factsStep({ [A]: UBUNTU, [B]: AMAZON_LINUX }) });
    const result = await harness.run(activities, async (taskQueue) =>
      (await start(efsMountWorkflow, taskQueue, [{ volumeName: uniqueName('vol'), instanceIds: [A, B] }])).result(),
    );
    expect(result.ok).toBe(true);
    expect(recorder.calls.installPackageOnInstance).toEqual([[{ instanceId: A, packageName: 'AmazonEFSUtils' }]]);
    const installs = recorder.calls.runStepOnInstance.filter(([input]) => (input as { step: string }).step === 'installEfsUtils');
    expect(installs.map(([input]) => (input as { instanceId: string }).instanceId)).toEqual([B]);
  });

  test('the Distributor route failing fails that instance alone, non-retryable, saying what to do', async () => {
    const { activities, recorder } = efsStubs({
      runStepOnInstance: factsStep({ [A]: UBUNTU }),
      installPackageOnInstance: async () => {
        throw ApplicationFailure.nonRetryable('AccessDenied: s3:GetObject', 'AccessDenied');
      },
    });
    const result = await harness.run(activities, async (taskQueue) =>
      (await start(efsMountWorkflow, taskQueue, [{ volumeName: uniqueName('vol'), instanceIds: [A, B] }])).result(),
    );
    expect(result.instances.find((i) => i.instanceId === B)).toMatchObject({ ok: true });
    const failed = result.instances.find((i) => i.instanceId === A);
    expect(failed).toMatchObject({ ok: false });
    expect(failed?.error).toMatch(/AmazonEFSUtils.*AWS-ConfigureAWSPackage.*AccessDenied.*AmazonSSMManagedInstanceCore.*github.com\/aws\/efs-utils/);
    expect(recorder.count('installPackageOnInstance')).toBe(1);
    expect(recorder.calls.runStepOnInstance.filter(([input]) => (input as { instanceId: string }).instanceId === A)).toHaveLength(1);
  });

  test('an instance whose facts cannot be read fails alone before anything changes on it', async () => {
    const healthy = factsStep();
    const { activities, recorder } = efsStubs({
      runStepOnInstance: async (input: { instanceId: string; step: string }) => {
        if (input.instanceId === A) throw ApplicationFailure.nonRetryable('the agent is offline', 'unknown-instance');
        return healthy(input);
      },
    });
    const result = await harness.run(activities, async (taskQueue) =>
      (await start(efsMountWorkflow, taskQueue, [{ volumeName: uniqueName('vol'), instanceIds: [A, B] }])).result(),
    );
    expect(result.instances.find((i) => i.instanceId === A)).toMatchObject({ ok: false, error: expect.stringContaining('gatherInstanceFacts: ') });
    expect(result.instances.find((i) => i.instanceId === B)).toMatchObject({ ok: true });
    expect(recorder.calls.runStepOnInstance.filter(([input]) => (input as { instanceId: string }).instanceId === A)).toHaveLength(1);
  });

  test('tags are resolved by the run: the tagged instances join the named one, and every one is mounted', async () => {
    const tags = [{ key: 'Project', values: ['research'] }];
    const { activities, recorder } = efsStubs({
      resolveTargets: async ({ instanceIds }: { instanceIds: string[] }) => ({ instanceIds: [...instanceIds, B].sort(), tagged: [B], passedOver: [] }),
    });
    const result = await harness.run(activities, async (taskQueue) =>
      (await start(efsMountWorkflow, taskQueue, [{ volumeName: uniqueName('vol'), instanceIds: [A], tags }])).result(),
    );
    expect(recorder.calls.resolveTargets).toEqual([[{ instanceIds: [A], tags }]]);
    expect(result.instances.map((i) => i.instanceId).sort()).toEqual([A, B]);
    expect(result.fleet).toEqual({ tags, joined: [A, B], departed: [], comparedWithPreviousRun: false, passedOver: [] });
    expect(new Set(recorder.calls.runStepOnInstance.map(([input]) => (input as { instanceId: string }).instanceId))).toEqual(new Set([A, B]));
  });

  test('tags that match nothing now end the run ok with no instance and no AWS change', async () => {
    const { activities, recorder } = efsStubs({ resolveTargets: async () => ({ instanceIds: [], tagged: [], passedOver: [] }) });
    const result = await harness.run(activities, async (taskQueue) =>
      (await start(efsMountWorkflow, taskQueue, [{ volumeName: uniqueName('vol'), instanceIds: [], tags: [{ key: 'Team', values: ['gone'] }] }])).result(),
    );
    expect(result).toMatchObject({ ok: true, instances: [], fleet: { joined: [], departed: [] } });
    expect(recorder.count('ensureFileSystem')).toBe(0);
  });

  test('bad input: neither instance IDs nor tags fails at once naming both ways', async () => {
    const { activities } = efsStubs();
    const failure = await harness.run(activities, async (taskQueue) =>
      runFailure(await start(efsMountWorkflow, taskQueue, [{ volumeName: uniqueName('vol'), instanceIds: [] }])),
    );
    expect(failure.message).toContain('--tag Key=Value');
  });

  test('a converged instance costs the one read-only facts step and reports 0 changes; the other runs every step', async () => {
    const { activities, recorder } = efsStubs({ runStepOnInstance: factsStep({ [A]: CONVERGED, [B]: AMAZON_LINUX }) });
    const result = await harness.run(activities, async (taskQueue) =>
      (await start(efsMountWorkflow, taskQueue, [{ volumeName: uniqueName('vol'), instanceIds: [A, B] }])).result(),
    );
    expect(result.ok).toBe(true);
    expect(result.instances.find((i) => i.instanceId === A)).toEqual({ instanceId: A, ok: true, changes: [], converged: true });
    const stepsOn = (id: string) =>
      recorder.calls.runStepOnInstance
        .map(([input]) => input as { instanceId: string; step: string })
        .filter((i) => i.instanceId === id)
        .map((i) => i.step);
    expect(stepsOn(A)).toEqual(['gatherInstanceFacts']);
    expect(stepsOn(B).length).toBeGreaterThan(5);
  });

  test('batched SSM: one runStepOnInstances per step for every instance; one final failure ends that instance alone', async () => {
    const C = 'i-0ccccccccccccccc3';
    const { activities, recorder } = efsStubs({
      runStepOnInstances: batchedSteps({ [C]: CONVERGED }, (step, id) => (step === 'mountVolume' && id === B ? 'failed' : 'ok')),
    });
    const result = await harness.run(activities, async (taskQueue) =>
      (await start(efsMountWorkflow, taskQueue, [{ volumeName: uniqueName('vol'), instanceIds: [A, B, C], batchSsm: true }])).result(),
    );
    const calls = recorder.calls.runStepOnInstances.map(([input]) => input as { step: string; instanceIds: string[] });
    expect(calls[0]).toMatchObject({ step: 'gatherInstanceFacts', instanceIds: [A, B, C] });
    expect(calls.find((c) => c.step === 'mountVolume')?.instanceIds).toEqual([A, B]);
    expect(calls.find((c) => c.step === 'prepareLayout')?.instanceIds).toEqual([A]);
    expect(new Set(calls.map((c) => c.step)).size).toBe(calls.length);
    expect(recorder.count('runStepOnInstance')).toBe(0);
    const byId = Object.fromEntries(result.instances.map((i) => [i.instanceId, i]));
    expect(byId[A]).toMatchObject({ ok: true, changes: expect.arrayContaining(['setUmask done']) });
    expect(byId[B]).toMatchObject({ ok: false, error: expect.stringContaining('mountVolume on') });
    expect(byId[C]).toMatchObject({ ok: true, converged: true, changes: [] });
    expect(result.ssmCalls).toBe(calls.length * 2);
  });

  test('batched SSM: only the instance that failed transiently is sent the step again', async () => {
    let first = true;
    const { activities, recorder } = efsStubs({
      runStepOnInstances: batchedSteps({}, (step, id) => {
        if (step === 'ensureGroup' && id === B && first) {
          first = false;
          return 'retry';
        }
        return 'ok';
      }),
    });
    const result = await harness.run(activities, async (taskQueue) =>
      (await start(efsMountWorkflow, taskQueue, [{ volumeName: uniqueName('vol'), instanceIds: [A, B], batchSsm: true }])).result(),
    );
    const groups = recorder.calls.runStepOnInstances.map(([input]) => input as { step: string; instanceIds: string[] }).filter((c) => c.step === 'ensureGroup');
    expect(groups.map((g) => g.instanceIds)).toEqual([[A, B], [B]]);
    expect(result.ok).toBe(true);
  }, 30_000);

  test('cancellation ends the run as cancelled, and cancels the child and its running step', async () => {
    const healthy = factsStep();
    const { activities, recorder } = efsStubs({
      runStepOnInstance: (input: { instanceId: string; step: string }) => (input.step === 'gatherInstanceFacts' ? healthy(input) : untilCancelled()),
    });
    const volume = uniqueName('vol');
    await harness.run(activities, async (taskQueue) => {
      const handle = await start(efsMountWorkflow, taskQueue, [{ volumeName: volume, instanceIds: [A] }]);
      await eventually("the child's first step to start", () => recorder.count('runStepOnInstance') > 1);
      await handle.cancel();
      expect(await runFailure(handle)).toBeInstanceOf(CancelledFailure);
      const child = harness.client().workflow.getHandle(efsInstanceWorkflowId(volume, A));
      await eventually('the child to be cancelled', async () => (await child.describe()).status.name === 'CANCELLED');
      await eventually('the step to see its cancellation', () => recorder.cancelled.includes('runStepOnInstance'));
    });
  });
});
