import type { RetryPolicy } from '@temporalio/workflow';
import { INPUT_FAILURE_TYPES } from '../domain/errors';

/** Every AWS proxy retries alike: backing off to 30 s, ten attempts, never on bad input. */
export const AWS_RETRY: RetryPolicy = {
  initialInterval: '2 seconds',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 10,
  nonRetryableErrorTypes: [...INPUT_FAILURE_TYPES],
};
