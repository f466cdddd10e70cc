/**
 * The dry-run plan, and the one place where a request becomes validated settings: per instance, the ordered
 * steps with a summary in words and the exact script that would run. Workflows run the same scripts.
 */
import { InputError, InputErrors } from '../errors';
import { validateAccessPointId } from '../identity/accessPoint';
import { checkIdentityCombination, validateIdentityMode, validatePeople, type IdentityMode, type ProvisionedPerson } from './identityMode';
import { INSTALL_ROUTES_IN_WORDS } from './installRoute';
import {
  DEFAULT_GID,
  DEFAULT_GROUP,
  defaultMountPoint,
  validateFileSystemId,
  validateGid,
  validateGroupName,
  validateInstanceIds,
  validateMountPoint,
  validateUserNames,
  validateVolumeName,
} from './names';
import { buildStepScript, EFS_UNMOUNT_STEPS, mountRunbook, stepSummary, type EfsStep } from './steps';
import type { EfsStepSettings } from './steps/script';

export interface EfsMountRequest {
  volumeName: string;
  fileSystemId: string;
  instanceIds: readonly string[];
  /** Default /mnt/<volumeName>. */
  mountPoint?: string;
  /** Default prism-shared. */
  group?: string;
  /** Default 3000. */
  gid?: number | string;
  /** Empty or absent: each instance's login users are detected there. */
  users?: readonly string[];
  /** Mount with IAM authorization (-o tls,iam), for file system policies that require it. */
  iam?: boolean;
  /** Default group: the shared group and setgid layout; access-point: through the volume's shared-area access point. */
  identity?: IdentityMode;
  /** Registry people to create on every instance with their UIDs (--person), as lookupPeople found them. */
  people?: readonly ProvisionedPerson[];
  /** The access point ensureSharedAccessPoint made (access-point mode); a dry run shows a placeholder. */
  accessPointId?: string;
}

/** What a dry run shows in access-point mode before the access point exists: the run puts the real ID there. */
export const ACCESS_POINT_PLACEHOLDER = 'fsap-00000000000000000';

export interface EfsSettings extends EfsStepSettings {
  volumeName: string;
  instanceIds: string[];
  identity: IdentityMode;
  people: ProvisionedPerson[];
}

export interface PlannedStep {
  step: EfsStep;
  /** What the step does to the instance, in words, e.g. for the Temporal UI's activity summary. */
  summary: string;
  script: string;
}

export interface InstancePlan {
  instanceId: string;
  steps: PlannedStep[];
}

export interface EfsPlan {
  action: 'mount' | 'unmount';
  volumeName: string;
  fileSystemId: string;
  mountPoint: string;
  group: string;
  gid: number;
  users: string[];
  iam: boolean;
  identity: IdentityMode;
  people: ProvisionedPerson[];
  /** access-point mode: the access point every instance mounts through. */
  accessPointId?: string;
  /** How amazon-efs-utils gets installed: decided per instance from its os-release by gatherInstanceFacts. */
  installRoutes: string;
  instances: InstancePlan[];
}

/** The access point of access-point mode (a placeholder until it exists); none in group mode. */
function accessPointOf(identity: IdentityMode, accessPointId: string | undefined): string | undefined {
  if (identity === 'access-point') return validateAccessPointId(accessPointId ?? ACCESS_POINT_PLACEHOLDER);
  if (accessPointId !== undefined)
    throw new InputError('--identity', 'an access point was given, but the identity mode is group: pass --identity access-point');
  return undefined;
}

/** Validates every field and reports all problems at once (InputErrors), before anything is sent. */
export function resolveEfsSettings(request: EfsMountRequest): EfsSettings {
  const errors: InputError[] = [];
  const attempt = <T>(fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch (error) {
      if (error instanceof InputError) {
        errors.push(error);
        return fallback;
      }
      throw error;
    }
  };
  const volumeName = attempt(() => validateVolumeName(request.volumeName), '');
  const fileSystemId = attempt(() => validateFileSystemId(request.fileSystemId), '');
  const instanceIds = attempt(() => validateInstanceIds(request.instanceIds), []);
  const mountPoint = attempt(
    () => (request.mountPoint !== undefined ? validateMountPoint(request.mountPoint) : volumeName ? defaultMountPoint(volumeName) : ''),
    '',
  );
  const group = attempt(() => validateGroupName(request.group ?? DEFAULT_GROUP), '');
  const gid = attempt(() => validateGid(request.gid ?? DEFAULT_GID), 0);
  const users = attempt(() => validateUserNames(request.users ?? []), []);
  const identity = attempt(() => validateIdentityMode(request.identity), 'group');
  const people = attempt(() => validatePeople(request.people ?? []), []);
  attempt(() => checkIdentityCombination(identity, people), undefined);
  const accessPointId = attempt(() => accessPointOf(identity, request.accessPointId), undefined);
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new InputErrors(errors);
  return { volumeName, fileSystemId, instanceIds, mountPoint, group, gid, users, iam: request.iam === true, identity, people, accessPointId };
}

export function planSteps(steps: readonly EfsStep[], settings: EfsStepSettings, instanceId: string): PlannedStep[] {
  return steps.map((step) => ({ step, summary: stepSummary(step, settings, instanceId), script: buildStepScript(step, settings) }));
}

function plan(action: 'mount' | 'unmount', request: EfsMountRequest): EfsPlan {
  const settings = resolveEfsSettings(request);
  const steps = action === 'mount' ? mountRunbook(settings) : EFS_UNMOUNT_STEPS;
  return {
    action,
    volumeName: settings.volumeName,
    fileSystemId: settings.fileSystemId,
    mountPoint: settings.mountPoint,
    group: settings.group,
    gid: settings.gid,
    users: [...settings.users],
    iam: settings.iam,
    identity: settings.identity,
    people: settings.people,
    ...(action === 'mount' && settings.accessPointId ? { accessPointId: settings.accessPointId } : {}),
    installRoutes: INSTALL_ROUTES_IN_WORDS,
    instances: settings.instanceIds.map((instanceId) => ({ instanceId, steps: planSteps(steps, settings, instanceId) })),
  };
}

export function planEfsMount(request: EfsMountRequest): EfsPlan {
  return plan('mount', request);
}

export function planEfsUnmount(request: EfsMountRequest): EfsPlan {
  return plan('unmount', request);
}
