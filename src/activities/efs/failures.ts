import { ApplicationFailure } from '@temporalio/common';
import { AwsCallError, AwsStateError, StepFailedError, type AwsStateKind } from '../../host/aws/errors';

/**
 * How each state of an AWS resource reaches the retry policy: its failure type, and whether a retry could see
 * it change. Only a command that never became visible may: the retry sends it again.
 */
const AWS_STATE_FAILURES: Record<AwsStateKind, { type: string; retryable: boolean }> = {
  fileSystemGone: { type: 'file-system-gone', retryable: false },
  fileSystemNotFound: { type: 'FileSystemNotFound', retryable: false },
  fileSystemUnusable: { type: 'file-system-unusable', retryable: false },
  instanceWithoutSubnet: { type: 'instance-without-subnet', retryable: false },
  unknownSubnet: { type: 'unknown-subnet', retryable: false },
  mountTargetGroupsFull: { type: 'mount-target-groups-full', retryable: false },
  mountTargetError: { type: 'mount-target-error', retryable: false },
  commandNeverVisible: { type: 'InvocationDoesNotExist', retryable: true },
};

/**
 * The host layer's AWS errors as the failures Temporal sees. An AWS API error keeps AWS's name as its type
 * and AWS's message in its own, so the workflow failure says what AWS said; it is final when only an
 * operator can fix it (the domain's classifySsmFailure). Anything else (bad input, a bug) passes unchanged.
 */
export function awsFailure(error: unknown): unknown {
  if (error instanceof AwsCallError) {
    const { kind, retryable } = error.classification;
    return ApplicationFailure.create({
      message: error.message,
      type: error.awsName,
      nonRetryable: !retryable,
      details: [{ kind, awsError: error.awsName, httpStatus: error.httpStatus }],
    });
  }
  if (error instanceof AwsStateError) {
    const { type, retryable } = AWS_STATE_FAILURES[error.kind];
    return ApplicationFailure.create({ message: error.message, type, nonRetryable: !retryable });
  }
  if (error instanceof StepFailedError) {
    return ApplicationFailure.create({ message: error.message, type: error.details.kind, nonRetryable: !error.retryable, details: [error.details] });
  }
  return error;
}

/** Runs a host-layer AWS call and gives its error the failure type and retryability the workflows expect. */
export async function awsStep<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw awsFailure(error);
  }
}
