/**
 * An input that cannot be accepted, found before anything changes. `field` is where the operator must look:
 * a JSON path into a config file (`shared_volumes.models.host_path`) or a CLI option (`--mount-point`).
 */
export class InputError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'InputError';
  }
}

/** Several input errors, reported together so the operator fixes a file in one pass. */
export class InputErrors extends Error {
  constructor(readonly errors: InputError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'InputErrors';
  }
}

/**
 * The failure types bad input travels under in Temporal: an error an activity throws reaches its workflow
 * typed by its class name, and workflows give their own the same names (src/workflows/decide.ts). No retry
 * can fix bad input, so every retry policy lists these as non-retryable.
 */
export const INPUT_FAILURE_TYPES: readonly string[] = ['InputError', 'InputErrors'];
