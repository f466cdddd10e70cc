/** Exit codes scripts can rely on; documented in the README and in `sharemount --help`. */
export const EXIT = {
  ok: 0,
  /** The run finished but some targets failed, or doctor found a missing prerequisite. */
  targetsFailed: 1,
  /** Bad input: usage, config or argument validation. Nothing was changed. */
  badInput: 2,
  /** Temporal could not be reached (or the embedded server could not start). */
  temporalUnreachable: 3,
  /** The operator pressed Ctrl-C; the workflow goes on and can be re-attached. */
  detached: 130,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    finished, but some targets failed (or doctor: a prerequisite is missing)
  2    bad input: nothing was changed
  3    cannot reach Temporal
  130  detached with Ctrl-C: the workflow goes on (re-attach with \`sharemount watch <id>\`)`;

/** An error that ends the command with a chosen exit code and a message for the operator. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
