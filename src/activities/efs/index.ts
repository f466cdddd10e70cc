import type { EC2Client } from '@aws-sdk/client-ec2';
import type { EFSClient } from '@aws-sdk/client-efs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { fileSystemActivities } from './fileSystem';
import { networkActivities } from './network';
import { ActivityRuntime, temporalRuntime } from './runtime';
import { ssmActivities } from './ssm';

export interface EfsActivityDeps {
  efs: EFSClient;
  ec2: EC2Client;
  ssm: SSMClient;
  /** Between polls of a file system, mount targets or an SSM command. Default 2000. */
  pollIntervalMs?: number;
  /** How long a sent command may be unknown to GetCommandInvocation. Default 60 s. */
  invocationGraceMs?: number;
  /** Heartbeat, previous heartbeat and sleep; the current Temporal activity's by default. */
  runtime?: ActivityRuntime;
}

/** Every EFS activity: each does one idempotent effect, so Temporal may retry any of them. */
export function createEfsActivities(deps: EfsActivityDeps) {
  const shared = { runtime: deps.runtime ?? temporalRuntime, pollIntervalMs: deps.pollIntervalMs ?? 2000 };
  return {
    ...fileSystemActivities({ efs: deps.efs, ...shared }),
    ...networkActivities({ ec2: deps.ec2, efs: deps.efs, ...shared }),
    ...ssmActivities({ ssm: deps.ssm, invocationGraceMs: deps.invocationGraceMs, ...shared }),
  };
}

export type EfsActivities = ReturnType<typeof createEfsActivities>;
export type { ActivityRuntime } from './runtime';
export { plainRuntime, temporalRuntime } from './runtime';
export type { EnsureFileSystemInput, EnsureFileSystemResult, FileSystemState } from './fileSystem';
export type { EnsureMountTargetsResult, EnsureNfsSecurityGroupInput, EnsureNfsSecurityGroupResult, MountTargetState } from './network';
export type { RunStepInput, RunStepResult, StepFailureDetails } from './ssm';
