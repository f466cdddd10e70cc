/**
 * What an EFS activity needs from Temporal, as plain functions: the activity cores run and are tested
 * without a worker, and the defaults read the current activity's Context.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { classifySsmFailure, SsmFailureKind } from '../../domain/efs/results';

export interface ActivityRuntime {
  heartbeat(details?: unknown): void;
  /** The details of the last heartbeat of the previous attempt, if this is a retry. */
  previousHeartbeat(): unknown;
  sleep(ms: number): Promise<void>;
}

export const temporalRuntime: ActivityRuntime = {
  heartbeat: (details) => Context.current().heartbeat(details),
  previousHeartbeat: () => Context.current().info.heartbeatDetails,
  sleep: (ms) => Context.current().sleep(ms),
};

/** For running the activity cores outside Temporal (scripts, tests): no heartbeats, real timers. */
export const plainRuntime: ActivityRuntime = {
  heartbeat: () => undefined,
  previousHeartbeat: () => undefined,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface AwsErrorInfo {
  name: string;
  message: string;
  httpStatus?: number;
}

export function awsErrorInfo(error: unknown): AwsErrorInfo {
  const e = error as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return { name: e?.Code ?? e?.name ?? 'Error', message: e?.message ?? String(error), httpStatus: e?.$metadata?.httpStatusCode };
}

export function isAwsError(error: unknown, ...names: string[]): boolean {
  return names.includes(awsErrorInfo(error).name);
}

/**
 * An AWS API error as the activity failure Temporal sees: non-retryable when only an operator can fix it
 * (classifySsmFailure), with the AWS message in it so the workflow failure says what AWS said.
 */
export function awsFailure(what: string, error: unknown): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  const info = awsErrorInfo(error);
  const { kind, retryable } = classifySsmFailure({ errorName: info.name, httpStatus: info.httpStatus });
  return ApplicationFailure.create({
    message: `${what}: ${info.name}: ${info.message}`,
    type: info.name,
    nonRetryable: !retryable,
    details: [{ kind, awsError: info.name, httpStatus: info.httpStatus }],
  });
}

export function nonRetryable(message: string, kind: SsmFailureKind | string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ message, type: kind, nonRetryable: true, details: details === undefined ? [] : [details] });
}
