/**
 * AWS faults through real HTTP: a fault-injecting proxy (test/support/faultProxy.ts) in front of the SSM agent
 * emulator and moto answers some requests with throttling, 5xx and InvocationDoesNotExist (retried to
 * success), and with InvalidInstanceId / AccessDeniedException for two instances (that target fails within
 * seconds with AWS's message; the others still finish). A real worker runs the real efsMountWorkflow.
 */
import { createActivities } from '../../src/activities';
import { EFS_MOUNT_STEPS } from '../../src/domain/efs/steps';
import { efsInstanceWorkflowId, efsRunWorkflowId } from '../../src/domain/workflowIds';
import type { EfsRunResult } from '../../src/workflows';
import { checkEfsInstance, EfsConvergence, EfsFleet, makeEfsFleet, sentCounts } from '../support/fleet';
import { FaultProxy, faults, startFaultProxy } from '../support/faultProxy';
import { activityRecords } from '../support/history';
import { describeNeeding, needs } from '../support/requires';
import { motoClients } from '../../src/sandbox/moto';
import { testClient, uniqueTaskQueue, withWorker } from '../support/temporal';
import * as fs from 'node:fs';
import * as path from 'node:path';

function workerActivities(endpoint: string) {
  return createActivities({ ...motoClients(endpoint, endpoint), awsIdentity: async () => ({ region: 'us-east-1' }), pollIntervalMs: 250 });
}

/** Every message in a failure's cause chain, outermost first. */
function failureChain(error: unknown): string {
  const messages: string[] = [];
  for (let e = error as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) messages.push(e.message ?? '');
  return messages.join(' <- ');
}

describeNeeding([needs.rootNamespaces()], 'AWS faults over real HTTP, through a real worker and workflow', () => {
  let fleet: EfsFleet | undefined;
  let failedResults: Record<string, string> | undefined;
  let expectedMessages: Record<string, string[]> = {};
  let proxy: FaultProxy | undefined;

  afterAll(async () => {
    await proxy?.stop();
    await fleet?.cleanup();
  });

  test('throttling, 5xx and InvocationDoesNotExist are retried to success; an unknown instance and access denied fail that target fast with the AWS message', async () => {
    const volumeName = `faults${uniqueTaskQueue('f').slice(2, 8)}`;
    fleet = await makeEfsFleet(volumeName, 5, { invisiblePolls: 1 });
    const [a, b, c, d, e] = fleet.instanceIds;
    proxy = await startFaultProxy(fleet.emulator.endpoint, (request, seen) => {
      const { operation, instanceId } = request;
      if (operation === 'EFS GET /2015-02-01/file-systems' && seen <= 4) return faults.efsThrottling();
      if (operation === 'AmazonSSM.SendCommand') {
        if (instanceId === a && seen <= 4) return faults.throttling(); // more than the SDK's own 3 attempts
        if (instanceId === b && seen >= 3 && seen <= 6) return faults.internal();
        if (instanceId === d) return faults.invalidInstanceId(d);
        if (instanceId === e) return faults.accessDenied(e);
      }
      if (operation === 'AmazonSSM.GetCommandInvocation') {
        if (instanceId === b && seen <= 5) return faults.unavailable();
        if (instanceId === c && seen <= 8) return faults.invocationDoesNotExist();
      }
      return undefined;
    });
    const taskQueue = uniqueTaskQueue('faults');
    const { client, close } = await testClient();
    const began = Date.now();
    let result: EfsRunResult;
    try {
      result = await withWorker(
        { taskQueue, activities: workerActivities(proxy.endpoint) },
        () =>
          client.workflow.execute('efsMountWorkflow', {
            taskQueue,
            workflowId: efsRunWorkflowId('mount', volumeName),
            args: [{ volumeName, instanceIds: fleet!.instanceIds, concurrency: 10 }],
          }) as Promise<EfsRunResult>,
      );
    } finally {
      await close().catch(() => undefined);
    }
    const durationMs = Date.now() - began;
    const { client: reader, close: closeReader } = await testClient();

    try {
      // The faults really happened.
      const injected = Object.fromEntries(proxy.injected);
      expect(injected).toMatchObject({
        'EFS GET /2015-02-01/file-systems ThrottlingException': 4,
        [`AmazonSSM.SendCommand ${a} ThrottlingException`]: 4,
        [`AmazonSSM.SendCommand ${b} InternalServerError`]: 4,
        [`AmazonSSM.GetCommandInvocation ${b} ServiceUnavailable`]: 5,
        [`AmazonSSM.GetCommandInvocation ${c} InvocationDoesNotExist`]: 8,
      });

      // Retried to success: a, b and c converged, each step's script ran exactly once.
      expect(result.ok).toBe(false);
      const byId = Object.fromEntries(result.instances.map((i) => [i.instanceId, i]));
      for (const id of [a, b, c]) expect(byId[id]).toMatchObject({ ok: true });
      const state: EfsConvergence = { notConverged: [], duplicates: [] };
      for (const index of [0, 1, 2]) await checkEfsInstance(fleet, index, state);
      expect(state).toEqual({ notConverged: [], duplicates: [] });
      const sent = sentCounts(fleet);
      for (const id of [a, b, c])
        expect([...sent.entries()].filter(([k]) => k.startsWith(id)).map(([, n]) => n)).toEqual(Array(EFS_MOUNT_STEPS.length).fill(1));
      // a's first command is its facts step, run by the parent before any child (instances start in order).
      const factsRecords = (await activityRecords(reader.workflow.getHandle(efsRunWorkflowId('mount', volumeName)))).filter(
        (r) => r.type === 'runStepOnInstance',
      );
      expect(factsRecords[0].attempts).toBeGreaterThanOrEqual(2); // the SDK gave up after 3 throttles; Temporal retried

      // Not retried: d and e failed on their first command (the facts step the parent runs before any
      // child), within seconds, with AWS's own message; no child was started for them.
      expect(byId[d].ok).toBe(false);
      expect(byId[e].ok).toBe(false);
      const expectedMessage: Record<string, string[]> = {
        [d]: ['InvalidInstanceId', `Instances [[${d}]] not in a valid state for account 123456789012`],
        [e]: ['AccessDeniedException', 'is not authorized to perform: ssm:SendCommand'],
      };
      const failedFacts = factsRecords.filter((r) => r.failed);
      expect(failedFacts).toHaveLength(2);
      for (const record of failedFacts) expect(record).toMatchObject({ attempts: 1, failed: true });
      const failFast: Record<string, number> = {};
      for (const [index, id] of [d, e].entries()) {
        expect(proxy.seen.get(`AmazonSSM.SendCommand ${id}`)).toBe(1);
        failFast[id] = failedFacts[index].durationMs!;
        expect(failFast[id]).toBeLessThan(10_000);
        await expect(reader.workflow.getHandle(efsInstanceWorkflowId(volumeName, id)).describe()).rejects.toThrow(/not found/);
        // and nothing happened on them
        const at = fleet.instanceIds.indexOf(id);
        expect(fs.readFileSync(path.join(fleet.sandboxes[at].etcDir, 'fstab'), 'utf8')).not.toContain(fleet.mountPoint);
      }
      failedResults = { [d]: byId[d].error ?? '', [e]: byId[e].error ?? '' };
      expectedMessages = expectedMessage;
      console.log(
        `SUMMARY ${JSON.stringify({
          scenario: 'aws-faults',
          targets: 5,
          injected: Object.values(injected).reduce((x, y) => x + y, 0),
          injectedByKind: Object.entries(injected).reduce<Record<string, number>>(
            (acc, [k, n]) => ({ ...acc, [k.split(' ').pop()!]: (acc[k.split(' ').pop()!] ?? 0) + n }),
            {},
          ),
          completed: result.instances.filter((i) => i.ok).length,
          failedFast: Object.values(failFast).map((ms) => Math.round(ms)),
          scriptsRunTwice: [...sent.values()].filter((n) => n > 1).length,
          duplicates: state.duplicates.length,
          durationMs,
        })}`,
      );
    } finally {
      await closeReader();
    }
  }, 180_000);

  // A failed child is a chain (ChildWorkflowFailure <- ActivityFailure "Activity task failed" <- the
  // ApplicationFailure with AWS's message); the per-instance result must carry the innermost message.
  test("the run's per-instance result names AWS's error, not 'Activity task failed'", () => {
    expect(failedResults).toBeDefined();
    for (const [id, error] of Object.entries(failedResults!)) for (const text of expectedMessages[id]) expect(error).toContain(text);
  });

  // An instance id that EC2 does not know (a typo, a terminated instance) fails within seconds with EC2's
  // message naming it, and alone: the instances that exist are still mounted.
  describe('an instance EC2 does not know', () => {
    const ghost = 'i-0123456789abcdef0';
    let outcome: { result?: EfsRunResult; error?: unknown; ms: number } | undefined;

    test("fails the run within seconds with EC2's message naming the instance", async () => {
      expect(fleet).toBeDefined();
      const { client, close } = await testClient();
      const taskQueue = uniqueTaskQueue('ghost');
      const began = Date.now();
      try {
        outcome = await withWorker({ taskQueue, activities: workerActivities(fleet!.emulator.endpoint) }, () =>
          client.workflow
            .execute('efsMountWorkflow', {
              taskQueue,
              workflowId: `${efsRunWorkflowId('mount', fleet!.volumeName)}-ghost`,
              args: [{ volumeName: fleet!.volumeName, instanceIds: [fleet!.instanceIds[0], ghost] }],
            })
            .then(
              (result) => ({ result: result as EfsRunResult, ms: Date.now() - began }),
              (error: unknown) => ({ error, ms: Date.now() - began }),
            ),
        );
      } finally {
        await close();
      }
      const text = outcome.error ? failureChain(outcome.error) : JSON.stringify(outcome.result);
      expect(text).toContain(ghost);
      expect(text).toMatch(/InvalidInstanceID\.NotFound/);
      expect(outcome.ms).toBeLessThan(15_000);
      console.log(`SUMMARY ${JSON.stringify({ scenario: 'aws-faults-unknown-instance', failedWholeRun: Boolean(outcome.error), ms: outcome.ms })}`);
    }, 60_000);

    test('the instance that exists is still mounted and only the unknown one fails', () => {
      expect(outcome?.result).toBeDefined();
      const byId = Object.fromEntries(outcome!.result!.instances.map((i) => [i.instanceId, i.ok]));
      expect(byId).toEqual({ [fleet!.instanceIds[0]]: true, [ghost]: false });
    });
  });

  // The agent is asked first (DescribeInstanceInformation, answered by the emulator since moto lacks it): an
  // instance whose agent is offline fails alone at once with the reason, and no command is ever sent to it.
  test('an instance whose SSM agent is offline fails alone within seconds, before any command; the other is mounted', async () => {
    expect(fleet).toBeDefined();
    const [online, offline] = [fleet!.instanceIds[0], fleet!.instanceIds[3]];
    const sentBefore = fleet!.emulator.sent.filter((s) => s.instanceId === offline).length;
    fleet!.emulator.stopInstance(offline);
    const { client, close } = await testClient();
    const taskQueue = uniqueTaskQueue('offline');
    const began = Date.now();
    let result: EfsRunResult;
    try {
      result = await withWorker(
        { taskQueue, activities: workerActivities(fleet!.emulator.endpoint) },
        () =>
          client.workflow.execute('efsMountWorkflow', {
            taskQueue,
            workflowId: `${efsRunWorkflowId('mount', fleet!.volumeName)}-offline`,
            args: [{ volumeName: fleet!.volumeName, instanceIds: [online, offline] }],
          }) as Promise<EfsRunResult>,
      );
    } finally {
      fleet!.emulator.startInstance(offline);
      await close();
    }
    const byId = Object.fromEntries(result.instances.map((i) => [i.instanceId, i]));
    expect(byId[online].ok).toBe(true);
    expect(byId[offline]).toMatchObject({ ok: false, error: expect.stringContaining('ConnectionLost, not Online') });
    expect(Date.now() - began).toBeLessThan(20_000);
    expect(fleet!.emulator.sent.filter((s) => s.instanceId === offline).length).toBe(sentBefore);
  }, 60_000);
});
