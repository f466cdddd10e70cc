/**
 * The boundary between workflow code and the pure domain's errors.
 *
 * The TypeScript SDK takes a plain error thrown by workflow code for a bug: it fails the workflow *task* and
 * retries that task for ever, so a run given bad input (two VPCs, a relative mount point) never ends. We
 * convert here, at the call into the domain, rather than list the types in the worker's
 * `workflowFailureErrorTypes`: that route fails the run as *retryable* and drops the fields, and it holds only
 * on workers built by `createWorkers`, while tests and benchmarks build their own.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { InputError, InputErrors } from '../domain/errors';

/**
 * Runs a pure domain decision. Whatever it throws fails the workflow at once, non-retryable, typed by the
 * error's name (`InputError`, `InputErrors`, see INPUT_FAILURE_TYPES), with `{ field, problem }` per bad
 * field in its details. Domain code is pure: the same input throws the same error on every retry.
 */
export function decide<T>(decision: () => T): T {
  try {
    return decision();
  } catch (error) {
    throw inputFailure(error);
  }
}

function inputFailure(error: unknown): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  const problems = error instanceof InputErrors ? error.errors : error instanceof InputError ? [error] : [];
  const { name, message } = error instanceof Error ? error : { name: 'InvalidInput', message: String(error) };
  return ApplicationFailure.create({
    message,
    type: name,
    nonRetryable: true,
    details: problems.map(({ field, problem }) => ({ field, problem })),
  });
}
