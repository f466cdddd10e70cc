import { GetCommandInvocationCommand, GetCommandInvocationCommandOutput, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ApplicationFailure } from '@temporalio/common';
import { validateInstanceId } from '../../domain/efs/names';
import { classifySsmFailure, parseStepOutput, stepFailureMessage, trimOutput } from '../../domain/efs/results';
import type { EfsStep } from '../../domain/efs/steps';
import { ActivityRuntime, awsErrorInfo, awsFailure } from './runtime';

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

/** What a failed step carries in ApplicationFailure.details[0], for the workflow's per-instance result. */
export interface StepFailureDetails {
  instanceId: string;
  step: EfsStep;
  commandId: string;
  status: string;
  exitCode?: number;
  kind: string;
  stdout: string;
  stderr: string;
}

/** What the activity heartbeats, so a retried attempt finds the command its predecessor sent. */
interface CommandHeartbeat {
  commandId: string;
  instanceId: string;
  step: string;
  status?: string;
}

const RUNNING = ['Pending', 'InProgress', 'Delayed', 'Cancelling'];
const OUTPUT_LIMIT = 4096;
/** How long a fresh command may be unknown to GetCommandInvocation before we stop believing in it. */
const DEFAULT_INVOCATION_GRACE_MS = 60_000;
/** Consecutive retryable polling errors (throttling, 5xx) absorbed before the attempt gives up. */
const MAX_POLL_ERRORS = 10;

function previousCommand(details: unknown, input: RunStepInput): string | undefined {
  const d = details as Partial<CommandHeartbeat> | undefined;
  if (d && typeof d.commandId === 'string' && d.instanceId === input.instanceId && d.step === input.step) return d.commandId;
  return undefined;
}

export function ssmActivities(deps: { ssm: SSMClient; runtime: ActivityRuntime; pollIntervalMs: number; invocationGraceMs?: number }) {
  const { ssm, runtime, pollIntervalMs } = deps;
  const graceMs = deps.invocationGraceMs ?? DEFAULT_INVOCATION_GRACE_MS;

  async function send(input: RunStepInput): Promise<string> {
    try {
      const answer = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [input.instanceId],
          DocumentName: 'AWS-RunShellScript',
          Comment: `sharemount ${input.step}`.slice(0, 100),
          Parameters: { commands: [input.script], executionTimeout: [String(input.executionTimeoutSeconds ?? 600)] },
        }),
      );
      const commandId = answer.Command?.CommandId;
      if (!commandId) throw Object.assign(new Error('SendCommand answered without a CommandId'), { name: 'InternalServerError' });
      runtime.heartbeat({ commandId, instanceId: input.instanceId, step: input.step } satisfies CommandHeartbeat);
      return commandId;
    } catch (error) {
      throw awsFailure(`send ${input.step} to ${input.instanceId}`, error);
    }
  }

  function failure(input: RunStepInput, commandId: string, invocation: GetCommandInvocationCommandOutput): ApplicationFailure {
    const status = invocation.Status ?? 'Failed';
    const exitCode = invocation.ResponseCode;
    const stdout = invocation.StandardOutputContent ?? '';
    const stderr = invocation.StandardErrorContent ?? '';
    const { kind, retryable } = classifySsmFailure({ status, exitCode });
    const reason = status === 'Failed' ? stepFailureMessage(stdout, stderr, exitCode) : `${status}${invocation.StatusDetails ? ` (${invocation.StatusDetails})` : ''}`;
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
    return ApplicationFailure.create({
      message: `${input.step} on ${input.instanceId} failed${exitCode !== undefined && exitCode >= 0 ? ` (exit ${exitCode})` : ''}: ${reason}`,
      type: kind,
      nonRetryable: !retryable,
      details: [details],
    });
  }

  return {
    /**
     * Runs one step's script on one instance through SSM AWS-RunShellScript and waits for its real exit code.
     * The command id is heartbeated as soon as it exists, so a retried attempt polls that command instead of
     * sending another (SendCommand has no idempotency token); a previous attempt's command that failed with
     * a retryable outcome is sent again, since every script is idempotent.
     */
    async runStepOnInstance(input: RunStepInput): Promise<RunStepResult> {
      validateInstanceId(input.instanceId);
      let commandId = input.commandId ?? previousCommand(runtime.previousHeartbeat(), input);
      let inherited = commandId !== undefined;
      if (!commandId) commandId = await send(input);
      let unknownSince = Date.now();
      let pollErrors = 0;

      for (;;) {
        let invocation: GetCommandInvocationCommandOutput;
        try {
          invocation = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: input.instanceId }));
          pollErrors = 0;
        } catch (error) {
          const info = awsErrorInfo(error);
          if (info.name === 'InvocationDoesNotExist') {
            // Right after SendCommand the invocation is not there yet; an inherited id may have expired.
            if (Date.now() - unknownSince < graceMs) {
              runtime.heartbeat({ commandId, instanceId: input.instanceId, step: input.step, status: 'NotYetVisible' } satisfies CommandHeartbeat);
              await runtime.sleep(pollIntervalMs);
              continue;
            }
            if (inherited) {
              commandId = await send(input);
              inherited = false;
              unknownSince = Date.now();
              continue;
            }
            throw ApplicationFailure.create({
              message: `${input.step} on ${input.instanceId}: command ${commandId} never became visible (InvocationDoesNotExist for ${Math.round(graceMs / 1000)} s)`,
              type: 'InvocationDoesNotExist',
              nonRetryable: false,
            });
          }
          const { retryable } = classifySsmFailure({ errorName: info.name, httpStatus: info.httpStatus });
          if (retryable && ++pollErrors <= MAX_POLL_ERRORS) {
            await runtime.sleep(pollIntervalMs * Math.min(2 ** pollErrors, 16));
            continue;
          }
          throw awsFailure(`poll ${input.step} (command ${commandId}) on ${input.instanceId}`, error);
        }

        const status = invocation.Status ?? 'Pending';
        if (RUNNING.includes(status)) {
          runtime.heartbeat({ commandId, instanceId: input.instanceId, step: input.step, status } satisfies CommandHeartbeat);
          await runtime.sleep(pollIntervalMs);
          continue;
        }
        if (status === 'Success') {
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
        const failed = failure(input, commandId, invocation);
        if (inherited && !failed.nonRetryable) {
          commandId = await send(input);
          inherited = false;
          unknownSince = Date.now();
          continue;
        }
        throw failed;
      }
    },
  };
}
