/**
 * The instance steps with batched SSM: each step is one SendCommand per 50 instances that get the same script
 * (runStepOnInstances), instead of one command per instance in one child workflow per instance. Every instance
 * is judged alone: a failure ends that instance only, and only transient failures are sent the step again, a
 * few times with backoff. The run counts the SSM calls it made.
 */
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { planCommandBatches } from '../domain/efs/batches';
import { distributorFailureAdvice, type EfsPlan, type InstallRoute } from '../domain/efs';
import type { EfsStep } from '../domain/efs/steps';
import { AWS_RETRY } from './awsRetry';
import { errorMessage, type ProgressBoard } from './progress';

// The batch activity heartbeats its command id: a lost worker is noticed within the heartbeat timeout, and the
// retry polls the same command. It fails only when the SSM API does; instances' own failures are its result.
const batch = proxyActivities<Activities>({ startToCloseTimeout: '30 minutes', heartbeatTimeout: '30 seconds', retry: AWS_RETRY });

/** Rounds of a step for the instances that failed transiently (the first send included), and the wait between. */
const STEP_ROUNDS = 4;
const ROUND_BACKOFF_MS = [5_000, 15_000, 45_000];

export interface SsmMeter {
  calls: number;
}

export type InstanceStepOutcome = { ok: true; changed: string[]; stdout: string } | { ok: false; error: string };

/** One step on many instances: batches of the same script, every instance's outcome, transient failures retried alone. */
export async function runStepInBatches(
  step: EfsStep,
  items: ReadonlyArray<{ instanceId: string; script: string }>,
  meter: SsmMeter,
): Promise<Map<string, InstanceStepOutcome>> {
  const outcomes = new Map<string, InstanceStepOutcome>();
  let pending = [...items];
  for (let round = 0; round < STEP_ROUNDS && pending.length > 0; round++) {
    if (round > 0) await sleep(ROUND_BACKOFF_MS[round - 1]);
    const last = round === STEP_ROUNDS - 1;
    const batches = planCommandBatches(pending);
    const answers = await Promise.allSettled(
      batches.map((b) =>
        batch.runStepOnInstances.executeWithOptions({ summary: `${step} on ${b.instanceIds.length} instance(s), one SendCommand` }, [
          { step, script: b.script, instanceIds: b.instanceIds },
        ]),
      ),
    );
    const retry = new Set<string>();
    answers.forEach((answer, index) => {
      if (answer.status === 'rejected') {
        for (const instanceId of batches[index].instanceIds) outcomes.set(instanceId, { ok: false, error: `${step}: ${errorMessage(answer.reason)}` });
        return;
      }
      meter.calls += answer.value.ssmCalls;
      for (const r of answer.value.instances) {
        if (r.verdict === 'ok') outcomes.set(r.instanceId, { ok: true, changed: r.changed, stdout: r.stdout });
        else if (r.verdict === 'retry' && !last) retry.add(r.instanceId);
        else outcomes.set(r.instanceId, { ok: false, error: r.error ?? `${step} failed on ${r.instanceId}` });
      }
    });
    pending = pending.filter((item) => retry.has(item.instanceId));
  }
  return outcomes;
}

export interface BatchedInstance {
  instanceId: string;
  ok: boolean;
  changes: string[];
  error?: string;
}

/** Every step after the facts, in runbook order, on the instances still standing; Distributor installs stay per instance. */
export async function runInstancesInBatches(
  board: ProgressBoard,
  plan: EfsPlan,
  routes: ReadonlyMap<string, InstallRoute>,
  meter: SsmMeter,
): Promise<BatchedInstance[]> {
  const failed = new Map<string, string>();
  const standing = () => plan.instances.filter((i) => !failed.has(i.instanceId));
  const stepNames = (plan.instances[0]?.steps ?? []).map((s) => s.step).filter((s) => s !== 'gatherInstanceFacts');
  for (const name of stepNames) {
    const instances = standing();
    const viaDistributor = name === 'installEfsUtils' ? instances.filter((i) => routes.get(i.instanceId)?.kind === 'distributor') : [];
    const items = instances
      .filter((i) => !viaDistributor.includes(i))
      .map((i) => ({ instanceId: i.instanceId, script: i.steps.find((s) => s.step === name)!.script }));
    items.forEach((item) => board.start(item.instanceId));
    const [outcomes] = await Promise.all([runStepInBatches(name, items, meter), installThroughDistributor(board, viaDistributor, routes, failed)]);
    for (const [instanceId, outcome] of outcomes) {
      if (outcome.ok)
        await board.step(
          instanceId,
          name,
          async () => outcome.changed,
          (changed) => (changed.length ? changed.join(', ') : undefined),
        );
      else {
        failed.set(instanceId, outcome.error);
        await board.finish(instanceId, outcome.error);
      }
    }
  }
  const results: BatchedInstance[] = [];
  for (const { instanceId } of plan.instances) {
    const error = failed.get(instanceId);
    if (error === undefined) await board.finish(instanceId);
    results.push({ instanceId, ok: error === undefined, changes: board.row(instanceId).changes, ...(error === undefined ? {} : { error }) });
  }
  return results;
}

async function installThroughDistributor(
  board: ProgressBoard,
  instances: EfsPlan['instances'],
  routes: ReadonlyMap<string, InstallRoute>,
  failed: Map<string, string>,
): Promise<void> {
  await Promise.all(
    instances.map(async ({ instanceId }) => {
      const route = routes.get(instanceId);
      if (route?.kind !== 'distributor') return;
      try {
        await board.step(
          instanceId,
          'installEfsUtils',
          () =>
            batch.installPackageOnInstance.executeWithOptions(
              { summary: `install the Distributor package ${route.packageName} on ${instanceId} (AWS-ConfigureAWSPackage)` },
              [{ instanceId, packageName: route.packageName }],
            ),
          (r) => (r.changed.length ? r.changed.join(', ') : undefined),
        );
      } catch (error) {
        const message = distributorFailureAdvice(instanceId, errorMessage(error));
        failed.set(instanceId, message);
        await board.finish(instanceId, message);
      }
    }),
  );
}
