/**
 * What can go wrong when sharemount talks to AWS, as plain errors: the activities decide what each becomes for
 * Temporal's retry policies (src/activities/efs/failures.ts), the CLI's dry run reports them as they are.
 */
import { classifySsmFailure, type SsmFailureClass } from '../../domain/efs/results';
import type { EfsStep } from '../../domain/efs/steps';

/** The name AWS gave an error (its code), its message and HTTP status, from any SDK error shape. */
interface AwsErrorInfo {
  name: string;
  message: string;
  httpStatus?: number;
}

function awsErrorInfo(error: unknown): AwsErrorInfo {
  const e = error as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return { name: e?.Code ?? e?.name ?? 'Error', message: e?.message ?? String(error), httpStatus: e?.$metadata?.httpStatusCode };
}

export function isAwsError(error: unknown, ...names: string[]): boolean {
  return names.includes(awsErrorInfo(error).name);
}

/** An AWS call that failed, with what we were doing; whether time can fix it is the domain's rule. */
export class AwsCallError extends Error {
  constructor(
    /** What sharemount tried, in words: "describe file system fs-0123". */
    readonly operation: string,
    readonly awsName: string,
    readonly awsMessage: string,
    readonly httpStatus?: number,
  ) {
    super(`${operation}: ${awsName}: ${awsMessage}`);
    this.name = 'AwsCallError';
  }

  get classification(): SsmFailureClass {
    return classifySsmFailure({ errorName: this.awsName, httpStatus: this.httpStatus });
  }

  /**
   * The SDK's error as an AwsCallError. Errors of this module pass through unchanged, so a failure found deep
   * in a call keeps its own meaning when an outer catch wraps everything it sees.
   */
  static from(operation: string, error: unknown): Error {
    if (error instanceof AwsCallError || error instanceof AwsStateError || error instanceof StepFailedError) return error;
    const info = awsErrorInfo(error);
    return new AwsCallError(operation, info.name, info.message, info.httpStatus);
  }
}

/** States of AWS resources that sharemount will not work with; each is a kind the activities map once. */
export type AwsStateKind =
  /** The volume's file system is being deleted or is gone. */
  | 'fileSystemGone'
  /** No file system has the given ID. */
  | 'fileSystemNotFound'
  /** The file system is in error or gone, so it will never become available. */
  | 'fileSystemUnusable'
  /** An instance outside a VPC subnet: EFS mount targets live in subnets. */
  | 'instanceWithoutSubnet'
  /** EC2 does not know a subnet. */
  | 'unknownSubnet'
  /** A mount target holds the maximum of five security groups, none of them ours. */
  | 'mountTargetGroupsFull'
  /** A mount target is in the error state. */
  | 'mountTargetError'
  /** A sent SSM command stayed unknown to GetCommandInvocation for the whole grace period. */
  | 'commandNeverVisible';

export class AwsStateError extends Error {
  constructor(
    readonly kind: AwsStateKind,
    message: string,
  ) {
    super(message);
    this.name = 'AwsStateError';
  }
}

/** What an SSM command is for: one of the steps, or the Distributor install of a package. */
export type CommandStep = EfsStep | 'installPackage';

/** What a failed step carries, for the workflow's per-instance result. */
export interface StepFailureDetails {
  instanceId: string;
  step: CommandStep;
  commandId: string;
  status: string;
  statusDetails?: string;
  exitCode?: number;
  kind: string;
  stdout: string;
  stderr: string;
}

/** A step's script ran on the instance and did not succeed (or was cancelled or timed out there). */
export class StepFailedError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly details: StepFailureDetails,
  ) {
    super(message);
    this.name = 'StepFailedError';
  }
}
