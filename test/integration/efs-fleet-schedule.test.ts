/**
 * A fleet kept mounted by a schedule, for real: moto's EC2 holds tagged instances, the SSM agent emulator runs
 * every script in the instance's sandbox, and a real worker runs the real efsMountWorkflow from a Temporal
 * Schedule. Between two runs two more instances get the tag: the second run mounts only those, finds the first
 * two converged after one read-only command each, and reports the two that joined.
 */
import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { createActivities } from '../../src/activities';
import { motoClients } from '../../src/sandbox/moto';
import type { EfsRunResult } from '../../src/workflows';
import { checkEfsInstance, EfsConvergence, EfsFleet, makeEfsFleet, sleep } from '../support/fleet';
import { describeNeeding, needs } from '../support/requires';
import { testClient, uniqueTaskQueue, withWorker } from '../support/temporal';

describeNeeding([needs.rootNamespaces()], 'a schedule keeps a tagged fleet mounted', () => {
  let fleet: EfsFleet | undefined;

  afterAll(async () => {
    await fleet?.cleanup();
  });

  test('instances tagged between two scheduled runs are mounted by the second; the others cost one read-only command', async () => {
    const volumeName = `fleet${uniqueTaskQueue('f').slice(2, 8)}`;
    fleet = await makeEfsFleet(volumeName, 4);
    const [a, b, c, d] = fleet.instanceIds;
    const ec2 = motoClients(fleet.moto.endpoint).ec2;
    const project = `p-${volumeName}`;
    const tag = (ids: string[]) => ec2.send(new CreateTagsCommand({ Resources: ids, Tags: [{ Key: 'Project', Value: project }] }));
    await tag([a, b]);

    const taskQueue = uniqueTaskQueue('fleet');
    const { client, close } = await testClient();
    const activities = createActivities({
      ...motoClients(fleet.moto.endpoint, fleet.emulator.endpoint),
      awsIdentity: async () => ({ region: 'us-east-1' }),
      pollIntervalMs: 100,
    });
    const scheduleId = `sharemount-schedule-${volumeName}`;
    try {
      await withWorker({ taskQueue, activities }, async () => {
        const schedule = await client.schedule.create({
          scheduleId,
          spec: { intervals: [{ every: '1h' }] },
          action: {
            type: 'startWorkflow',
            workflowType: 'efsMountWorkflow',
            taskQueue,
            workflowId: `sharemount-efs-${volumeName}-mount`,
            args: [{ volumeName, instanceIds: [], tags: [{ key: 'Project', values: [project] }] }],
          },
          policies: { overlap: ScheduleOverlapPolicy.SKIP },
          state: { paused: true },
        });
        const runNumber = async (n: number): Promise<EfsRunResult> => {
          await schedule.trigger(ScheduleOverlapPolicy.SKIP);
          for (let waited = 0; ; waited += 200) {
            const actions = (await schedule.describe()).info.recentActions;
            if (actions.length >= n) {
              const { workflowId, firstExecutionRunId } = actions[n - 1].action.workflow;
              return (await client.workflow.getHandle(workflowId, firstExecutionRunId).result()) as EfsRunResult;
            }
            if (waited > 60_000) throw new Error(`scheduled run ${n} never started`);
            await sleep(200);
          }
        };
        try {
          const first = await runNumber(1);
          expect(first.ok).toBe(true);
          expect(first.instances.map((i) => i.instanceId).sort()).toEqual([a, b].sort());
          expect(first.fleet).toMatchObject({ joined: [a, b].sort(), departed: [], comparedWithPreviousRun: false });

          await tag([c, d]);
          const sentBefore = fleet!.emulator.sent.length;
          const second = await runNumber(2);
          expect(second.ok).toBe(true);
          expect(second.fleet).toMatchObject({ joined: [c, d].sort(), departed: [], comparedWithPreviousRun: true });
          const byId = Object.fromEntries(second.instances.map((i) => [i.instanceId, i]));
          for (const id of [a, b]) expect(byId[id]).toEqual({ instanceId: id, ok: true, changes: [], converged: true });
          for (const id of [c, d]) expect(byId[id]).toMatchObject({ ok: true, changes: expect.arrayContaining([expect.stringContaining('mounted')]) });
          const sent = fleet!.emulator.sent.slice(sentBefore);
          for (const id of [a, b])
            expect(sent.filter((s) => s.instanceId === id).map((s) => s.script.match(/# sharemount step (\w+)/)?.[1])).toEqual(['gatherInstanceFacts']);
          for (const id of [c, d]) expect(sent.filter((s) => s.instanceId === id).length).toBeGreaterThan(5);
          const state: EfsConvergence = { notConverged: [], duplicates: [] };
          for (const index of [0, 1, 2, 3]) await checkEfsInstance(fleet!, index, state);
          expect(state).toEqual({ notConverged: [], duplicates: [] });
        } finally {
          await schedule.delete();
        }
      });
    } finally {
      await close();
    }
  });

  test('batched SSM for real: one SendCommand per step for all instances, every instance mounted, and a second run finds them converged', async () => {
    const volumeName = `batch${uniqueTaskQueue('f').slice(2, 8)}`;
    const batchFleet = await makeEfsFleet(volumeName, 3);
    const taskQueue = uniqueTaskQueue('batched');
    const { client, close } = await testClient();
    const activities = createActivities({
      ...motoClients(batchFleet.moto.endpoint, batchFleet.emulator.endpoint),
      awsIdentity: async () => ({ region: 'us-east-1' }),
      pollIntervalMs: 100,
    });
    try {
      await withWorker({ taskQueue, activities }, async () => {
        const run = () =>
          client.workflow.execute('efsMountWorkflow', {
            taskQueue,
            workflowId: `sharemount-efs-${volumeName}-mount`,
            args: [{ volumeName, instanceIds: batchFleet.instanceIds, batchSsm: true }],
          }) as Promise<EfsRunResult>;
        const first = await run();
        expect(first.instances.filter((i) => !i.ok)).toEqual([]);
        const byStep = new Map<string, Set<string>>();
        for (const s of batchFleet.emulator.sent) {
          const step = s.script.match(/# sharemount step (\w+)/)?.[1] ?? s.documentName;
          byStep.set(step, new Set([...(byStep.get(step) ?? []), s.commandId]));
        }
        for (const [step, ids] of byStep) expect({ step, commands: ids.size }).toEqual({ step, commands: 1 });
        expect(byStep.size).toBeGreaterThanOrEqual(7);
        expect(first.ssmCalls).toBeGreaterThanOrEqual(byStep.size * 2);
        const state: EfsConvergence = { notConverged: [], duplicates: [] };
        for (const index of [0, 1, 2]) await checkEfsInstance(batchFleet, index, state);
        expect(state).toEqual({ notConverged: [], duplicates: [] });

        const sentBefore = batchFleet.emulator.sent.length;
        const second = await run();
        expect(second.instances.every((i) => i.ok && i.converged)).toBe(true);
        expect(batchFleet.emulator.sent.length - sentBefore).toBe(3);
      });
    } finally {
      await close();
      await batchFleet.cleanup();
    }
  });
});
