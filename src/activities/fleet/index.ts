import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { FleetSelection } from '../../domain/efs/fleet';
import { runStepOnBatch, type BatchStepInput } from '../../host/aws/ssmBatch';
import { resolveTargets } from '../../host/aws/targets';
import { awsStep } from '../efs/failures';
import { pollingOf, temporalRuntime, type ActivityRuntime } from '../efs/runtime';

export interface FleetActivityDeps {
  ec2: EC2Client;
  ssm: SSMClient;
  pollIntervalMs?: number;
  invocationGraceMs?: number;
  runtime?: ActivityRuntime;
}

/** Which instances a run acts on, asked of EC2 when the run runs, and one step sent to many of them at once. */
export function createFleetActivities(deps: FleetActivityDeps) {
  const runtime = deps.runtime ?? temporalRuntime;
  const polling = pollingOf(runtime, deps.pollIntervalMs ?? 2000);
  return {
    /** The explicit instance IDs plus the running Linux instances the tag selectors match now; changes nothing. */
    resolveTargets: (input: FleetSelection) => awsStep(() => resolveTargets(deps.ec2, input)),
    /**
     * One step's script on up to 50 instances with one SendCommand; returns every instance's verdict (ok, retry,
     * failed) and throws only when the API itself fails. It heartbeats the command id, so a retried attempt
     * polls that command instead of sending the step again.
     */
    runStepOnInstances: (input: BatchStepInput) =>
      awsStep(() => runStepOnBatch(deps.ssm, input, { polling, resumeFrom: runtime.previousHeartbeat(), invocationGraceMs: deps.invocationGraceMs })),
  };
}
