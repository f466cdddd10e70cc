/**
 * One SSM command on one instance, sent and polled to its final status: the part every document shares
 * (AWS-RunShellScript for the steps, AWS-ConfigureAWSPackage for the Distributor route). The command id is
 * reported as soon as it exists, so a retried attempt polls that command instead of sending another
 * (SendCommand has no idempotency token); an inherited command that failed in a way a retry can fix, or
 * expired, is sent again, since every command sharemount sends is idempotent.
 */
import { GetCommandInvocationCommand, GetCommandInvocationCommandOutput, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { CommandTimeouts } from '../../domain/efs/commandTimeouts';
import { classifySsmFailure, stepFailureMessage, trimOutput, type SsmFailureKind } from '../../domain/efs/results';
import { AwsCallError, AwsStateError, isAwsError, StepFailedError, type CommandStep, type StepFailureDetails } from './errors';
import type { Polling } from './polling';

export interface SsmCommand {
  instanceId: string;
  /** What the command is for (a step name): its heartbeat carries it, so a retry resumes only its own command. */
  step: CommandStep;
  documentName: string;
  parameters: Record<string, string[]>;
  timeouts: CommandTimeouts;
  /** A command sent earlier for this step and instance: polled instead of sending a new one. */
  commandId?: string;
}

export interface SsmCommandOptions {
  polling: Polling;
  /** The last progress a previous attempt reported: its command is polled instead of sending another. */
  resumeFrom?: unknown;
  /** How long a sent command may be unknown to GetCommandInvocation. Default 60 s. */
  invocationGraceMs?: number;
  /** A document's own reading of a failed run's output, before the generic one (exit code, stderr). */
  explainFailure?: (stdout: string, stderr: string) => { kind: SsmFailureKind; message: string } | undefined;
}

export interface FinishedCommand {
  commandId: string;
  invocation: GetCommandInvocationCommandOutput;
}

/** What a command reports while it waits, so a retried attempt finds the command its predecessor sent. */
interface CommandProgress {
  commandId: string;
  instanceId: string;
  step: string;
  status?: string;
}

/** Not final yet: Delayed is the service retrying delivery to an agent it could not reach. */
const RUNNING = ['Pending', 'InProgress', 'Delayed', 'Cancelling'];
export const OUTPUT_LIMIT = 4096;
const DEFAULT_INVOCATION_GRACE_MS = 60_000;
/** Consecutive retryable polling errors (throttling, 5xx) absorbed before the attempt gives up. */
const MAX_POLL_ERRORS = 10;

function commandToResume(progress: unknown, command: SsmCommand): string | undefined {
  const p = progress as Partial<CommandProgress> | undefined;
  if (p && typeof p.commandId === 'string' && p.instanceId === command.instanceId && p.step === command.step) return p.commandId;
  return undefined;
}

async function send(ssm: SSMClient, command: SsmCommand, polling: Polling): Promise<string> {
  let commandId: string | undefined;
  try {
    const answer = await ssm.send(
      new SendCommandCommand({
        InstanceIds: [command.instanceId],
        DocumentName: command.documentName,
        Comment: `sharemount ${command.step}`.slice(0, 100),
        // Delivery: a command the agent has not taken within this time ends DeliveryTimedOut instead of waiting.
        TimeoutSeconds: command.timeouts.deliveryTimeoutSeconds,
        Parameters: command.parameters,
      }),
    );
    commandId = answer.Command?.CommandId;
  } catch (error) {
    throw AwsCallError.from(`send ${command.step} to ${command.instanceId}`, error);
  }
  if (!commandId) throw new AwsCallError(`send ${command.step} to ${command.instanceId}`, 'InternalServerError', 'SendCommand answered without a CommandId');
  polling.report({ commandId, instanceId: command.instanceId, step: command.step } satisfies CommandProgress);
  return commandId;
}

/** Why a final, unsuccessful invocation failed, in words an operator can act on. */
function failureReason(command: SsmCommand, invocation: GetCommandInvocationCommandOutput, kind: SsmFailureKind): string {
  const status = invocation.Status ?? 'Failed';
  if (kind === 'delivery-timed-out') {
    return `the SSM agent did not take the command within ${command.timeouts.deliveryTimeoutSeconds} s (DeliveryTimedOut): is the instance running and its agent Online?`;
  }
  if (kind === 'execution-timed-out') {
    return `the command ran past its executionTimeout of ${command.timeouts.executionTimeoutSeconds} s and the agent killed it (ExecutionTimedOut)`;
  }
  if (kind === 'cancelled') return `the command was cancelled on the instance (${invocation.StatusDetails ?? status})`;
  if (status === 'Failed') return stepFailureMessage(invocation.StandardOutputContent ?? '', invocation.StandardErrorContent ?? '', invocation.ResponseCode);
  return `${status}${invocation.StatusDetails ? ` (${invocation.StatusDetails})` : ''}`;
}

function commandFailure(command: SsmCommand, commandId: string, invocation: GetCommandInvocationCommandOutput, options: SsmCommandOptions): StepFailedError {
  const status = invocation.Status ?? 'Failed';
  const exitCode = invocation.ResponseCode;
  const stdout = invocation.StandardOutputContent ?? '';
  const stderr = invocation.StandardErrorContent ?? '';
  const generic = classifySsmFailure({ status, statusDetails: invocation.StatusDetails, exitCode });
  const explained = status === 'Failed' ? options.explainFailure?.(stdout, stderr) : undefined;
  const kind = explained?.kind ?? generic.kind;
  const retryable = explained ? false : generic.retryable;
  const reason = explained?.message ?? failureReason(command, invocation, kind);
  const details: StepFailureDetails = {
    instanceId: command.instanceId,
    step: command.step,
    commandId,
    status,
    statusDetails: invocation.StatusDetails,
    exitCode,
    kind,
    stdout: trimOutput(stdout, OUTPUT_LIMIT),
    stderr: trimOutput(stderr, OUTPUT_LIMIT),
  };
  return new StepFailedError(
    `${command.step} on ${command.instanceId} failed${exitCode !== undefined && exitCode >= 0 ? ` (exit ${exitCode})` : ''}: ${reason}`,
    retryable,
    details,
  );
}

/** Sends the command (or resumes the one a previous attempt sent) and polls it to Success, or throws why not. */
export async function runSsmCommand(ssm: SSMClient, command: SsmCommand, options: SsmCommandOptions): Promise<FinishedCommand> {
  const { polling } = options;
  const graceMs = options.invocationGraceMs ?? DEFAULT_INVOCATION_GRACE_MS;
  const { instanceId, step } = command;
  let commandId = command.commandId ?? commandToResume(options.resumeFrom, command);
  let inherited = commandId !== undefined;
  if (!commandId) commandId = await send(ssm, command, polling);
  let unknownSince = Date.now();
  let pollErrors = 0;
  const resend = async () => {
    commandId = await send(ssm, command, polling);
    inherited = false;
    unknownSince = Date.now();
  };

  for (;;) {
    let invocation: GetCommandInvocationCommandOutput;
    try {
      invocation = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
      pollErrors = 0;
    } catch (error) {
      if (isAwsError(error, 'InvocationDoesNotExist')) {
        // Right after SendCommand the invocation is not there yet; an inherited id may have expired.
        if (Date.now() - unknownSince < graceMs) {
          polling.report({ commandId, instanceId, step, status: 'NotYetVisible' } satisfies CommandProgress);
          await polling.sleep(polling.intervalMs);
          continue;
        }
        if (inherited) {
          await resend();
          continue;
        }
        throw new AwsStateError(
          'commandNeverVisible',
          `${step} on ${instanceId}: command ${commandId} never became visible (InvocationDoesNotExist for ${Math.round(graceMs / 1000)} s)`,
        );
      }
      const failure = AwsCallError.from(`poll ${step} (command ${commandId}) on ${instanceId}`, error);
      if (failure instanceof AwsCallError && failure.classification.retryable && ++pollErrors <= MAX_POLL_ERRORS) {
        await polling.sleep(polling.intervalMs * Math.min(2 ** pollErrors, 16));
        continue;
      }
      throw failure;
    }

    const status = invocation.Status ?? 'Pending';
    if (RUNNING.includes(status)) {
      polling.report({ commandId, instanceId, step, status } satisfies CommandProgress);
      await polling.sleep(polling.intervalMs);
      continue;
    }
    if (status === 'Success') return { commandId, invocation };
    const failed = commandFailure(command, commandId, invocation, options);
    if (inherited && failed.retryable) {
      await resend();
      continue;
    }
    throw failed;
  }
}
