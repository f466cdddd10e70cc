import { SSMClient } from '@aws-sdk/client-ssm';
import { commandTimeouts } from '../../domain/efs/commandTimeouts';
import { validateInstanceId } from '../../domain/efs/names';
import { parseStepOutput, trimOutput } from '../../domain/efs/results';
import type { EfsStep } from '../../domain/efs/steps';
import { OUTPUT_LIMIT, runSsmCommand, type SsmCommandOptions } from './ssmCommand';

export interface RunStepInput {
  instanceId: string;
  step: EfsStep;
  /** The exact script (from buildStepScript / the plan). */
  script: string;
  /** A command sent earlier for this step and instance: polled instead of sending a new one. */
  commandId?: string;
  /** How long the script may run on the instance (the document's executionTimeout, 5..172800). Default 600. */
  executionTimeoutSeconds?: number;
  /** How long the agent may take to pick the command up (SendCommand TimeoutSeconds, 30..2592000). Default 120. */
  deliveryTimeoutSeconds?: number;
}

export interface RunStepResult {
  instanceId: string;
  step: EfsStep;
  commandId: string;
  exitCode: number;
  changed: string[];
  unchanged: string[];
  users: string[];
  /** The last 4 KB of each; what the script reported is in changed/unchanged/users already. */
  stdout: string;
  stderr: string;
}

export type RunStepOptions = Omit<SsmCommandOptions, 'explainFailure'>;

/** Runs one step's script on one instance through SSM AWS-RunShellScript and waits for its real exit code. */
export async function runStep(ssm: SSMClient, input: RunStepInput, options: RunStepOptions): Promise<RunStepResult> {
  validateInstanceId(input.instanceId);
  const timeouts = commandTimeouts({ executionTimeoutSeconds: input.executionTimeoutSeconds, deliveryTimeoutSeconds: input.deliveryTimeoutSeconds });
  const { commandId, invocation } = await runSsmCommand(
    ssm,
    {
      instanceId: input.instanceId,
      step: input.step,
      commandId: input.commandId,
      documentName: 'AWS-RunShellScript',
      parameters: { commands: [input.script], executionTimeout: [String(timeouts.executionTimeoutSeconds)] },
      timeouts,
    },
    options,
  );
  const stdout = invocation.StandardOutputContent ?? '';
  const parsed = parseStepOutput(stdout);
  return {
    instanceId: input.instanceId,
    step: input.step,
    commandId,
    exitCode: invocation.ResponseCode ?? 0,
    changed: parsed.changed,
    unchanged: parsed.unchanged,
    users: parsed.users,
    stdout: trimOutput(stdout, OUTPUT_LIMIT),
    stderr: trimOutput(invocation.StandardErrorContent ?? '', OUTPUT_LIMIT),
  };
}
