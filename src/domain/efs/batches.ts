/**
 * Batched SSM: instances that get the same script for a step share one SendCommand, up to the 50 instance IDs
 * the API takes per call (SendCommand's InstanceIds, "Maximum number of 50 items"). Each instance's invocation
 * is read back on its own and decided on its own: one instance's failure never fails the others, and only the
 * instances that failed in a way time can fix are sent the step again.
 */
import { classifySsmFailure, type SsmFailureKind } from './results';

/** SendCommand's InstanceIds limit. */
export const SSM_MAX_INSTANCES_PER_COMMAND = 50;

export interface CommandBatch {
  script: string;
  instanceIds: string[];
}

/** Instances grouped by identical script, in first-seen order, each group cut into batches of at most 50. */
export function planCommandBatches(items: ReadonlyArray<{ instanceId: string; script: string }>, max = SSM_MAX_INSTANCES_PER_COMMAND): CommandBatch[] {
  const byScript = new Map<string, string[]>();
  for (const { instanceId, script } of items) byScript.set(script, [...(byScript.get(script) ?? []), instanceId]);
  const batches: CommandBatch[] = [];
  for (const [script, ids] of byScript) {
    const unique = [...new Set(ids)];
    for (let at = 0; at < unique.length; at += max) batches.push({ script, instanceIds: unique.slice(at, at + max) });
  }
  return batches;
}

/** How one instance's invocation of a batch ended, as ListCommandInvocations / GetCommandInvocation said. */
export interface InvocationOutcome {
  instanceId: string;
  status: string;
  statusDetails?: string;
  exitCode?: number;
  stdout: string;
  stderr: string;
}

export type InstanceVerdict =
  | { instanceId: string; verdict: 'ok'; outcome: InvocationOutcome }
  | { instanceId: string; verdict: 'retry' | 'failed'; kind: SsmFailureKind; outcome: InvocationOutcome };

/** Each instance on its own: Success is done; otherwise the project's one SSM classification says retry or stop. */
export function judgeInvocation(outcome: InvocationOutcome): InstanceVerdict {
  if (outcome.status === 'Success') return { instanceId: outcome.instanceId, verdict: 'ok', outcome };
  const { kind, retryable } = classifySsmFailure({ status: outcome.status, statusDetails: outcome.statusDetails, exitCode: outcome.exitCode });
  return { instanceId: outcome.instanceId, verdict: retryable ? 'retry' : 'failed', kind, outcome };
}

/** The instances of a step's verdicts that are sent the step again: the transient failures only. */
export function instancesToRetry(verdicts: readonly InstanceVerdict[]): string[] {
  return verdicts.filter((v) => v.verdict === 'retry').map((v) => v.instanceId);
}

/** Backoff before the next attempt of a throttled call: doubling from `baseMs`, capped, with the jitter given (0..1). */
export function throttleDelayMs(attempt: number, jitter: number, baseMs = 500, capMs = 20_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (ceiling / 2) * jitter);
}
