/**
 * The frame every EFS step's script shares (run through SSM AWS-RunShellScript, as root). Every script:
 *  - receives its inputs as `NAME='value'` assignments at the top (shAssignments), never spliced into code,
 *    and checks them again with `case` patterns: validation in TypeScript is the first wall, quoting the
 *    second, this the third. Everything after the assignments is the step's body, a constant: no value is
 *    ever part of it, not even in a comment;
 *  - is idempotent: it looks before it changes, and a second run changes nothing;
 *  - reports on stdout with one machine-readable line per fact (parsed by parseStepOutput):
 *      SHAREMOUNT_CHANGED <what>     something was changed
 *      SHAREMOUNT_UNCHANGED <what>   it was already right
 *      SHAREMOUNT_USER <name>        a login user the step acted for
 *      SHAREMOUNT_ERROR <message>    why it stopped (also on stderr)
 *  - exits 0 or with one of the STEP_EXIT_CODES its step declares; any other non-zero code is a failure
 *    worth retrying.
 */
import { shAssignments, type ShellValues } from '../../shell';
import type { ProvisionedPerson } from '../identityMode';

export const STEP_EXIT_CODES = {
  ok: 0,
  /** An input failed the script's own check: a bug or tampering, retrying cannot help. */
  badInput: 64,
  /** The instance holds something that contradicts the request (another group has the GID, a file where a directory must be, a busy mount): an operator must decide. */
  conflict: 65,
  /** Something the step needs is missing (mount.efs not installable, a named user absent): install or fix it first. */
  missingPrerequisite: 66,
} as const;

export type StepExitName = Exclude<keyof typeof STEP_EXIT_CODES, 'ok'>;

export const NON_RETRYABLE_EXIT_CODES: readonly number[] = [STEP_EXIT_CODES.badInput, STEP_EXIT_CODES.conflict, STEP_EXIT_CODES.missingPrerequisite];

/** The exit code a script fails with when a retry may help (a package download, a mount the network broke). */
export const RETRYABLE_EXIT_CODE = 1;

/** What every step is given; each step reads only the fields it needs. */
export interface EfsStepSettings {
  fileSystemId: string;
  mountPoint: string;
  group: string;
  gid: number;
  /** Empty: each step detects the instance's login users itself. */
  users: readonly string[];
  /** Mount with IAM authorization (`-o tls,iam`), for file system policies that require it. */
  iam: boolean;
  /** Registry people to create with their UID and GID (provisionPeople); absent or empty: none. */
  people?: readonly ProvisionedPerson[];
  /** Mount through this access point (`accesspoint=`); absent: the shared-group layout. */
  accessPointId?: string;
}

/** The users a step acts for, in words: the named ones, else the ones it will detect. */
export function usersInWords(settings: EfsStepSettings): string {
  return settings.users.length > 0 ? settings.users.join(', ') : 'the login users';
}

export interface EfsStepDefinition<Name extends string = string> {
  name: Name;
  /** What the step does to the instance, in words: the dry-run plan and the Temporal UI's activity summary. */
  summary(settings: EfsStepSettings, instanceId: string): string;
  /** The codes besides 0 this step's script can end with (RETRYABLE_EXIT_CODE aside), each with what it means here. */
  exits: Partial<Record<StepExitName, string>>;
  /** The step's inputs, validated (an InputError names the field), as the variables its body reads. */
  inputs(settings: EfsStepSettings): ShellValues;
  /** The script after the assignments. */
  body: string;
}

const PRELUDE = `set -eu
set -f
changed() { printf 'SHAREMOUNT_CHANGED %s\\n' "$*"; }
unchanged() { printf 'SHAREMOUNT_UNCHANGED %s\\n' "$*"; }
fail() {
  code=$1
  shift
  printf 'SHAREMOUNT_ERROR %s\\n' "$*"
  printf 'sharemount: %s\\n' "$*" >&2
  exit "$code"
}`;

function exitLines(exits: EfsStepDefinition['exits']): string[] {
  const declared = (Object.keys(exits) as StepExitName[]).map((name) => `# exit ${STEP_EXIT_CODES[name]}: ${exits[name]}`);
  return ['# exit 0: done (changed, or already right)', ...declared, '# any other code: worth a retry'];
}

/**
 * The step's script with these values as its inputs. Values are not validated here (buildStepScript does that
 * through the step's inputs), so tests can hand in what validation would have refused and see the script's own
 * checks and the quoting hold.
 */
export function renderStepScript(step: EfsStepDefinition, values: ShellValues): string {
  const assignments = Object.keys(values).length > 0 ? [shAssignments(values)] : [];
  return ['#!/bin/sh', `# sharemount step ${step.name}`, ...exitLines(step.exits), PRELUDE, ...assignments, step.body, ''].join('\n');
}

/** Joins a body from shared fragments and the step's own code. */
export function body(...parts: string[]): string {
  return parts.join('\n');
}
