import { GetCommandInvocationCommand, GetCommandInvocationCommandOutput, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { validateInstanceId } from '../../domain/efs/names';
import { classifySsmFailure, parseStepOutput, stepFailureMessage, trimOutput } from '../../domain/efs/results';
import type { EfsStep } from '../../domain/efs/steps';
import { AwsCallError, AwsStateError, isAwsError, StepFailedError, type StepFailureDetails } from './errors';
import type { Polling } from './polling';

export interface RunStepInput {
  instanceId: string;
  step: EfsStep;
  /** The exact script (from buildStepScript / the plan). */
  script: string;
  /** A command sent earlier for this step and instance: polled instead of sending a new one. */
  commandId?: string;
  /** How long the script may run on the instance (SSM executionTimeout). Default 600. */
  executionTimeoutSeconds?: number;
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

export interface RunStepOptions {
  polling: Polling;
  /** The last progress a previous attempt reported: its command is polled instead of sending another. */
  resumeFrom?: unknown;
  /** How long a sent command may be unknown to GetCommandInvocation. Default 60 s. */
  invocationGraceMs?: number;
}

/** What runStep reports while it waits, so a retried attempt finds the command its predecessor sent. */
interface CommandProgress {
  commandId: string;
  instanceId: string;
  step: string;
  status?: string;
}

const RUNNING = ['Pending', 'InProgress', 'Delayed', 'Cancelling'];
const OUTPUT_LIMIT = 4096;
const DEFAULT_INVOCATION_GRACE_MS = 60_000;
/** Consecutive retryable polling errors (throttling, 5xx) absorbed before the attempt gives up. */
const MAX_POLL_ERRORS = 10;

function commandToResume(progress: unknown, input: RunStepInput): string | undefined {
  const p = progress as Partial<CommandProgress> | undefined;
  if (p && typeof p.commandId === 'string' && p.instanceId === input.instanceId && p.step === input.step) return p.commandId;
  return undefined;
}

async function send(ssm: SSMClient, input: RunStepInput, polling: Polling): Promise<string> {
  let commandId: string | undefined;
  try {
    const answer = await ssm.send(
      new SendCommandCommand({
        InstanceIds: [input.instanceId],
        DocumentName: 'AWS-RunShellScript',
        Comment: `sharemount ${input.step}`.slice(0, 100),
        Parameters: { commands: [input.script], executionTimeout: [String(input.executionTimeoutSeconds ?? 600)] },
      }),
    );
    commandId = answer.Command?.CommandId;
  } catch (error) {
    throw AwsCallError.from(`send ${input.step} to ${input.instanceId}`, error);
  }
  if (!commandId) throw new AwsCallError(`send ${input.step} to ${input.instanceId}`, 'InternalServerError', 'SendCommand answered without a CommandId');
  polling.report({ commandId, instanceId: input.instanceId, step: input.step } satisfies CommandProgress);
  return commandId;
}

function stepFailure(input: RunStepInput, commandId: string, invocation: GetCommandInvocationCommandOutput): StepFailedError {
  const status = invocation.Status ?? 'Failed';
  const exitCode = invocation.ResponseCode;
  const stdout = invocation.StandardOutputContent ?? '';
  const stderr = invocation.StandardErrorContent ?? '';
  const { kind, retryable } = classifySsmFailure({ status, exitCode });
  const reason =
    status === 'Failed' ? stepFailureMessage(stdout, stderr, exitCode) : `${status}${invocation.StatusDetails ? ` (${invocation.StatusDetails})` : ''}`;
  const details: StepFailureDetails = {
    instanceId: input.instanceId,
    step: input.step,
    commandId,
    status,
    exitCode,
    kind,
    stdout: trimOutput(stdout, OUTPUT_LIMIT),
    stderr: trimOutput(stderr, OUTPUT_LIMIT),
  };
  return new StepFailedError(
    `${input.step} on ${input.instanceId} failed${exitCode !== undefined && exitCode >= 0 ? ` (exit ${exitCode})` : ''}: ${reason}`,
    retryable,
    details,
  );
}

function stepResult(input: RunStepInput, commandId: string, invocation: GetCommandInvocationCommandOutput): RunStepResult {
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

/**
 * Runs one step's script on one instance through SSM AWS-RunShellScript and waits for its real exit code.
 * The command id is reported as soon as it exists, so a retried attempt polls that command instead of
 * sending another (SendCommand has no idempotency token); an inherited command that failed in a way a retry
 * can fix, or expired, is sent again, since every script is idempotent.
 */
export async function runStep(ssm: SSMClient, input: RunStepInput, options: RunStepOptions): Promise<RunStepResult> {
  validateInstanceId(input.instanceId);
  const { polling } = options;
  const graceMs = options.invocationGraceMs ?? DEFAULT_INVOCATION_GRACE_MS;
  let commandId = input.commandId ?? commandToResume(options.resumeFrom, input);
  let inherited = commandId !== undefined;
  if (!commandId) commandId = await send(ssm, input, polling);
  let unknownSince = Date.now();
  let pollErrors = 0;
  const resend = async () => {
    commandId = await send(ssm, input, polling);
    inherited = false;
    unknownSince = Date.now();
  };

  for (;;) {
    let invocation: GetCommandInvocationCommandOutput;
    try {
      invocation = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: input.instanceId }));
      pollErrors = 0;
    } catch (error) {
      if (isAwsError(error, 'InvocationDoesNotExist')) {
        // Right after SendCommand the invocation is not there yet; an inherited id may have expired.
        if (Date.now() - unknownSince < graceMs) {
          polling.report({ commandId, instanceId: input.instanceId, step: input.step, status: 'NotYetVisible' } satisfies CommandProgress);
          await polling.sleep(polling.intervalMs);
          continue;
        }
        if (inherited) {
          await resend();
          continue;
        }
        throw new AwsStateError(
          'commandNeverVisible',
          `${input.step} on ${input.instanceId}: command ${commandId} never became visible (InvocationDoesNotExist for ${Math.round(graceMs / 1000)} s)`,
        );
      }
      const failure = AwsCallError.from(`poll ${input.step} (command ${commandId}) on ${input.instanceId}`, error);
      if (failure instanceof AwsCallError && failure.classification.retryable && ++pollErrors <= MAX_POLL_ERRORS) {
        await polling.sleep(polling.intervalMs * Math.min(2 ** pollErrors, 16));
        continue;
      }
      throw failure;
    }

    const status = invocation.Status ?? 'Pending';
    if (RUNNING.includes(status)) {
      polling.report({ commandId, instanceId: input.instanceId, step: input.step, status } satisfies CommandProgress);
      await polling.sleep(polling.intervalMs);
      continue;
    }
    if (status === 'Success') return stepResult(input, commandId, invocation);
    const failed = stepFailure(input, commandId, invocation);
    if (inherited && failed.retryable) {
      await resend();
      continue;
    }
    throw failed;
  }
}
