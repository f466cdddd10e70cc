/**
 * What a step's run means: the facts its script reported, and whether a failure is worth retrying. Pure, so
 * the activity, the workflow and the tests read results the same way.
 */
import { NON_RETRYABLE_EXIT_CODES, STEP_EXIT_CODES } from './steps/script';

export interface StepOutput {
  /** What the step changed, in words (SHAREMOUNT_CHANGED lines). */
  changed: string[];
  /** What was already right (SHAREMOUNT_UNCHANGED lines). */
  unchanged: string[];
  /** Login users the step acted for (SHAREMOUNT_USER lines), e.g. the detected ones. */
  users: string[];
  /** Why the step stopped (SHAREMOUNT_ERROR lines). */
  errors: string[];
}

const RESULT_LINE = /^SHAREMOUNT_(CHANGED|UNCHANGED|USER|ERROR) (.*)$/;

export function parseStepOutput(stdout: string): StepOutput {
  const output: StepOutput = { changed: [], unchanged: [], users: [], errors: [] };
  for (const line of stdout.split('\n')) {
    const match = RESULT_LINE.exec(line.replace(/\r$/, ''));
    if (!match) continue;
    const text = match[2].trim();
    if (match[1] === 'CHANGED') output.changed.push(text);
    else if (match[1] === 'UNCHANGED') output.unchanged.push(text);
    else if (match[1] === 'USER') output.users.push(text);
    else output.errors.push(text);
  }
  return output;
}

/**
 * Keeps the end of an output (where the result and the error are), far below Temporal's payload limits; SSM
 * itself already cut stdout at 24,000 and stderr at 8,000 characters.
 */
export function trimOutput(text: string, maxChars = 4096): string {
  if (text.length <= maxChars) return text;
  const cut = text.length - maxChars;
  return `[${cut} characters cut]\n${text.slice(cut)}`;
}

/** The script's own reason when it gave one, else the last line of stderr, else the exit code. */
export function stepFailureMessage(stdout: string, stderr: string, exitCode: number | undefined): string {
  const reported = parseStepOutput(stdout).errors;
  if (reported.length > 0) return reported[reported.length - 1];
  const lastStderr = stderr.trim().split('\n').filter(Boolean).pop();
  if (lastStderr) return lastStderr;
  return exitCode === undefined ? 'the command failed without output' : `the script exited with code ${exitCode} without output`;
}

export type SsmFailureKind =
  | 'throttled'
  | 'server-error'
  | 'network'
  | 'unknown-instance'
  | 'access-denied'
  | 'invalid-request'
  | 'invocation-pending'
  | 'not-ready'
  | 'script-bad-input'
  | 'script-conflict'
  | 'script-missing-prerequisite'
  | 'script-failed'
  | 'delivery-timed-out'
  | 'execution-timed-out'
  | 'reboot-requested'
  | 'cancelled'
  | 'package-access-denied'
  | 'package-unreachable';

export interface SsmFailure {
  /** AWS error name (`ThrottlingException`, `InvalidInstanceId`, ...), when the failure is an API error. */
  errorName?: string;
  httpStatus?: number;
  /** Command status from GetCommandInvocation, when the command ran. */
  status?: string;
  /** GetCommandInvocation's StatusDetails: tells a delivery timeout (DeliveryTimedOut) from an execution one. */
  statusDetails?: string;
  /** The script's exit code (ResponseCode), when it ran. */
  exitCode?: number;
}

export interface SsmFailureClass {
  kind: SsmFailureKind;
  retryable: boolean;
}

const THROTTLING = ['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded', 'TooManyUpdates'];
const SERVER = ['InternalServerError', 'InternalServerException', 'InternalFailure', 'ServiceUnavailable', 'ServiceUnavailableException'];
const UNKNOWN_INSTANCE = ['InvalidInstanceId', 'InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed', 'InvalidTarget'];
const ACCESS_DENIED = [
  'AccessDeniedException',
  'AccessDenied',
  'UnauthorizedOperation',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredTokenException',
];
/** A resource another call just created is not ready yet (EFS answers these while a file system or mount target is creating). */
const NOT_READY = ['IncorrectFileSystemLifeCycleState', 'IncorrectMountTargetState', 'DependencyTimeout'];
const NETWORK = ['TimeoutError', 'RequestTimeout', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'NetworkingError'];

/** The agent's exit code for "reboot, then run this plugin again" (amazon-ssm-agent, appconfig.RebootExitCode). */
export const REBOOT_EXIT_CODE = 194;

/**
 * The final statuses the agent and the service give a command, as they report them: Cancelled (someone ran
 * CancelCommand; the agent killed the script, exit 137) and a delivery timeout (TimedOut with StatusDetails
 * DeliveryTimedOut, ResponseCode -1: the agent never took the command, so the instance is stopped or its
 * agent offline) and an execution timeout (TimedOut/137: the script outran executionTimeout and the agent
 * killed its process group) all need an operator, so none is retried. A 194 seen as final means the agent
 * asked for a reboot and has not run the plugin again yet; running it again is what the agent itself does.
 */
function classifyCommandStatus(status: string | undefined, statusDetails: string | undefined, exitCode: number | undefined): SsmFailureClass | undefined {
  if (status === 'Cancelled' || status === 'Cancelling') return { kind: 'cancelled', retryable: false };
  if (status === 'TimedOut') {
    const delivery = statusDetails === 'DeliveryTimedOut' || (statusDetails === undefined && (exitCode === undefined || exitCode < 0));
    return { kind: delivery ? 'delivery-timed-out' : 'execution-timed-out', retryable: false };
  }
  if (exitCode === REBOOT_EXIT_CODE) return { kind: 'reboot-requested', retryable: true };
  return undefined;
}

/**
 * Retry what time can fix (throttling, 5xx, the network, a command the agent has not picked up yet, a script
 * failure without a known meaning); fail at once on what only an operator can fix (an unknown instance,
 * missing permissions, a malformed request, a script's conflict / bad-input / missing-prerequisite codes).
 */
/** Named for SSM, where most of its cases come from; EC2 and EFS errors are read the same way. */
export function classifySsmFailure(failure: SsmFailure): SsmFailureClass {
  const { errorName, httpStatus, status, exitCode } = failure;
  if (errorName !== undefined) {
    if (THROTTLING.includes(errorName) || httpStatus === 429) return { kind: 'throttled', retryable: true };
    if (errorName === 'InvocationDoesNotExist') return { kind: 'invocation-pending', retryable: true };
    if (NOT_READY.includes(errorName)) return { kind: 'not-ready', retryable: true };
    if (UNKNOWN_INSTANCE.includes(errorName)) return { kind: 'unknown-instance', retryable: false };
    if (ACCESS_DENIED.includes(errorName) || httpStatus === 403) return { kind: 'access-denied', retryable: false };
    if (SERVER.includes(errorName) || (httpStatus !== undefined && httpStatus >= 500)) return { kind: 'server-error', retryable: true };
    if (NETWORK.includes(errorName) || httpStatus === undefined) return { kind: 'network', retryable: true };
    return { kind: 'invalid-request', retryable: false };
  }
  if (httpStatus !== undefined) {
    if (httpStatus === 429) return { kind: 'throttled', retryable: true };
    if (httpStatus >= 500) return { kind: 'server-error', retryable: true };
    if (httpStatus === 403) return { kind: 'access-denied', retryable: false };
    if (httpStatus >= 400) return { kind: 'invalid-request', retryable: false };
  }
  const commandClass = classifyCommandStatus(status, failure.statusDetails, exitCode);
  if (commandClass) return commandClass;
  if (exitCode === STEP_EXIT_CODES.badInput) return { kind: 'script-bad-input', retryable: false };
  if (exitCode === STEP_EXIT_CODES.conflict) return { kind: 'script-conflict', retryable: false };
  if (exitCode === STEP_EXIT_CODES.missingPrerequisite) return { kind: 'script-missing-prerequisite', retryable: false };
  if (exitCode !== undefined && NON_RETRYABLE_EXIT_CODES.includes(exitCode)) return { kind: 'script-failed', retryable: false };
  return { kind: 'script-failed', retryable: true };
}

/**
 * What an AWS-ConfigureAWSPackage Install reported, read from the lines the configurepackage plugin writes:
 * "Successfully installed <name> <version>" after an install, "<name> <version> is already installed" when
 * its validate step found it in place (amazon-ssm-agent, configurepackage.checkAlreadyInstalled).
 */
export function packageInstallOutput(packageName: string, stdout: string): { changed: string[]; unchanged: string[] } {
  if (stdout.includes(`Successfully installed ${packageName}`)) return { changed: [`installed ${packageName}`], unchanged: [] };
  if (new RegExp(`${packageName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\S+ is already installed`).test(stdout)) {
    return { changed: [], unchanged: [`${packageName} is already installed`] };
  }
  return { changed: [`installed ${packageName}`], unchanged: [] };
}

/**
 * Why a Distributor install failed, when the plugin's output says it: the instance role may not read the
 * package's manifest (its GetManifest call was denied), or the instance cannot download the package (no route
 * to the regional S3 bucket). Neither is fixed by trying again.
 */
export function packageInstallFailure(packageName: string, output: string): { kind: SsmFailureKind; message: string } | undefined {
  if (/GetManifest/.test(output) && /AccessDenied|not authorized/.test(output)) {
    return {
      kind: 'package-access-denied',
      message: `the instance role may not read the Distributor package ${packageName} (ssm:GetManifest denied): attach AmazonSSMManagedInstanceCore to the instance profile`,
    };
  }
  if (/failed to download installation package|failed to download manifest|failed to retrieve manifest/.test(output)) {
    return {
      kind: 'package-unreachable',
      message: `the instance cannot download the Distributor package ${packageName}: give its subnet a route to Systems Manager and to S3 (a NAT gateway, or VPC endpoints for ssm, ssmmessages, ec2messages and an S3 gateway endpoint)`,
    };
  }
  return undefined;
}
