/**
 * One step's script on up to 50 instances with one SendCommand, and every instance's invocation read back on
 * its own. ListCommandInvocations (Details) answers for the whole command in one page of 50; GetCommandInvocation
 * is asked only for an instance whose listed output may be cut (CommandPlugin.Output holds 2,500 characters) or
 * that failed, so its full stdout and stderr are kept. Throttled calls back off and try again.
 */
import { GetCommandInvocationCommand, ListCommandInvocationsCommand, SendCommandCommand, type CommandInvocation, type SSMClient } from '@aws-sdk/client-ssm';
import { judgeInvocation, SSM_MAX_INSTANCES_PER_COMMAND, throttleDelayMs, type InvocationOutcome } from '../../domain/efs/batches';
import { commandTimeouts } from '../../domain/efs/commandTimeouts';
import { validateInstanceIds } from '../../domain/efs/names';
import { classifySsmFailure, parseStepOutput, stepFailureMessage, trimOutput, type SsmFailureKind } from '../../domain/efs/results';
import type { EfsStep } from '../../domain/efs/steps';
import { AwsCallError } from './errors';
import type { Polling } from './polling';
import { OUTPUT_LIMIT } from './ssmCommand';

export interface BatchStepInput {
  step: EfsStep;
  script: string;
  instanceIds: string[];
  executionTimeoutSeconds?: number;
  deliveryTimeoutSeconds?: number;
}

export interface BatchInstanceResult {
  instanceId: string;
  verdict: 'ok' | 'retry' | 'failed';
  kind?: SsmFailureKind;
  exitCode?: number;
  changed: string[];
  unchanged: string[];
  users: string[];
  stdout: string;
  stderr: string;
  error?: string;
}

export interface BatchStepResult {
  commandId: string;
  /** SendCommand, ListCommandInvocations and GetCommandInvocation calls this attempt made, throttled ones included. */
  ssmCalls: number;
  instances: BatchInstanceResult[];
}

export interface BatchOptions {
  polling: Polling;
  /** The previous attempt's last heartbeat: its command is polled instead of sending the step again. */
  resumeFrom?: unknown;
  /** How long an instance may be missing from ListCommandInvocations after SendCommand. Default 60 s. */
  invocationGraceMs?: number;
  /** Throttled calls tried again before the attempt fails (Temporal retries it then). Default 8. */
  maxThrottleRetries?: number;
  random?: () => number;
}

interface BatchProgress {
  commandId: string;
  step: EfsStep;
  instanceIds: string[];
  done?: number;
}

// The listed CommandPlugin.Output's length limit in the ListCommandInvocations API reference.
const LISTED_OUTPUT_LIMIT = 2500;
const RUNNING = ['Pending', 'InProgress', 'Delayed', 'Cancelling'];

function resumable(progress: unknown, input: BatchStepInput): string | undefined {
  const p = progress as Partial<BatchProgress> | undefined;
  const same = p?.step === input.step && Array.isArray(p.instanceIds) && p.instanceIds.join(' ') === input.instanceIds.join(' ');
  return same && typeof p?.commandId === 'string' ? p.commandId : undefined;
}

/** Runs `input` on every instance it names and returns each one's verdict; only a failed API call throws. */
export async function runStepOnBatch(ssm: SSMClient, input: BatchStepInput, options: BatchOptions): Promise<BatchStepResult> {
  const instanceIds = validateInstanceIds(input.instanceIds);
  if (instanceIds.length > SSM_MAX_INSTANCES_PER_COMMAND) throw new RangeError(`a batch holds at most ${SSM_MAX_INSTANCES_PER_COMMAND} instances`);
  const { polling } = options;
  const timeouts = commandTimeouts({ executionTimeoutSeconds: input.executionTimeoutSeconds, deliveryTimeoutSeconds: input.deliveryTimeoutSeconds });
  let ssmCalls = 0;
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      ssmCalls++;
      try {
        return await fn();
      } catch (error) {
        const failure = AwsCallError.from(what, error);
        // An invocation just listed as finished may be unknown to GetCommandInvocation for a moment, as right
        // after SendCommand: time fixes it, as it fixes throttling.
        const waitable = failure instanceof AwsCallError && ['throttled', 'invocation-pending'].includes(failure.classification.kind);
        if (!waitable || attempt >= (options.maxThrottleRetries ?? 8)) throw failure;
        await polling.sleep(throttleDelayMs(attempt, (options.random ?? Math.random)()));
      }
    }
  };

  let commandId = resumable(options.resumeFrom, input);
  if (!commandId) {
    const answer = await call(`send ${input.step} to ${instanceIds.length} instance(s)`, () =>
      ssm.send(
        new SendCommandCommand({
          InstanceIds: instanceIds,
          DocumentName: 'AWS-RunShellScript',
          Comment: `sharemount ${input.step}`.slice(0, 100),
          TimeoutSeconds: timeouts.deliveryTimeoutSeconds,
          Parameters: { commands: [input.script], executionTimeout: [String(timeouts.executionTimeoutSeconds)] },
          // Every instance at once, and no error count that stops the command for the rest: each is judged alone.
          MaxConcurrency: String(SSM_MAX_INSTANCES_PER_COMMAND),
          MaxErrors: '100%',
        }),
      ),
    );
    commandId = answer.Command?.CommandId;
    if (!commandId) throw new AwsCallError(`send ${input.step}`, 'InternalServerError', 'SendCommand answered without a CommandId');
  }
  const id = commandId;
  polling.report({ commandId: id, step: input.step, instanceIds } satisfies BatchProgress);

  const finished = new Map<string, InvocationOutcome>();
  const sentAt = Date.now();
  const graceMs = options.invocationGraceMs ?? 60_000;
  for (;;) {
    const listed: CommandInvocation[] = [];
    let nextToken: string | undefined;
    do {
      const page = await call(`list the invocations of ${input.step} (command ${id})`, () =>
        ssm.send(new ListCommandInvocationsCommand({ CommandId: id, Details: true, MaxResults: 50, NextToken: nextToken })),
      );
      listed.push(...(page.CommandInvocations ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    for (const invocation of listed) {
      const instanceId = invocation.InstanceId ?? '';
      const status = invocation.Status ?? 'Pending';
      if (!instanceIds.includes(instanceId) || finished.has(instanceId) || RUNNING.includes(status)) continue;
      finished.set(instanceId, await outcomeOf(invocation, id, (what, fn) => call(what, fn), ssm));
    }
    const missing = instanceIds.filter((i) => !finished.has(i) && !listed.some((l) => l.InstanceId === i));
    if (Date.now() - sentAt >= graceMs) for (const instanceId of missing) finished.set(instanceId, { instanceId, status: 'NotListed', stdout: '', stderr: '' });
    if (finished.size === instanceIds.length) break;
    polling.report({ commandId: id, step: input.step, instanceIds, done: finished.size } satisfies BatchProgress);
    await polling.sleep(polling.intervalMs);
  }
  return { commandId: id, ssmCalls, instances: instanceIds.map((instanceId) => resultOf(input.step, finished.get(instanceId)!)) };
}

async function outcomeOf(
  invocation: CommandInvocation,
  commandId: string,
  call: <T>(what: string, fn: () => Promise<T>) => Promise<T>,
  ssm: SSMClient,
): Promise<InvocationOutcome> {
  const instanceId = invocation.InstanceId ?? '';
  const plugin = invocation.CommandPlugins?.[0];
  const listedOutput = plugin?.Output ?? '';
  const outcome: InvocationOutcome = {
    instanceId,
    status: invocation.Status ?? 'Failed',
    statusDetails: invocation.StatusDetails,
    exitCode: plugin?.ResponseCode,
    stdout: listedOutput,
    stderr: '',
  };
  if (outcome.status === 'Success' && listedOutput.length < LISTED_OUTPUT_LIMIT) return outcome;
  const full = await call(`read ${instanceId}'s output of command ${commandId}`, () =>
    ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId })),
  );
  return {
    ...outcome,
    exitCode: full.ResponseCode ?? outcome.exitCode,
    stdout: full.StandardOutputContent ?? listedOutput,
    stderr: full.StandardErrorContent ?? '',
  };
}

function resultOf(step: EfsStep, outcome: InvocationOutcome): BatchInstanceResult {
  const parsed = parseStepOutput(outcome.stdout);
  const judged =
    outcome.status === 'NotListed'
      ? { verdict: 'retry' as const, kind: classifySsmFailure({ errorName: 'InvocationDoesNotExist' }).kind }
      : judgeInvocation(outcome);
  const base = {
    instanceId: outcome.instanceId,
    verdict: judged.verdict,
    exitCode: outcome.exitCode,
    changed: parsed.changed,
    unchanged: parsed.unchanged,
    users: parsed.users,
    stdout: trimOutput(outcome.stdout, OUTPUT_LIMIT),
    stderr: trimOutput(outcome.stderr, OUTPUT_LIMIT),
  };
  if (judged.verdict === 'ok') return base;
  const why =
    outcome.status === 'Failed'
      ? stepFailureMessage(outcome.stdout, outcome.stderr, outcome.exitCode)
      : `${outcome.status}${outcome.statusDetails ? ` (${outcome.statusDetails})` : ''}`;
  return {
    ...base,
    kind: judged.kind,
    error: `${step} on ${outcome.instanceId} failed${outcome.exitCode !== undefined && outcome.exitCode >= 0 ? ` (exit ${outcome.exitCode})` : ''}: ${why}`,
  };
}
