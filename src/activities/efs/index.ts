import type { EC2Client } from '@aws-sdk/client-ec2';
import type { EFSClient } from '@aws-sdk/client-efs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { awaitFileSystemAvailable, ensureFileSystem, findFileSystem, type EnsureFileSystemInput } from '../../host/aws/fileSystem';
import { checkAgents } from '../../host/aws/agents';
import { locateInstances } from '../../host/aws/instances';
import { awaitMountTargetsAvailable, ensureMountTargets, type EnsureMountTargetsInput } from '../../host/aws/mountTargets';
import { ensureNfsSecurityGroup, type EnsureNfsSecurityGroupInput } from '../../host/aws/securityGroup';
import { installPackage, type InstallPackageInput } from '../../host/aws/packages';
import { runStep, type RunStepInput } from '../../host/aws/ssm';
import { awsStep } from './failures';
import { ActivityRuntime, pollingOf, temporalRuntime } from './runtime';

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

/**
 * Every EFS activity: a thin wrapper over the AWS host layer (src/host/aws) that heartbeats while it waits and
 * gives errors their failure types. Each does one idempotent effect, so Temporal may retry any of them.
 */
export function createEfsActivities(deps: EfsActivityDeps) {
  const { efs, ec2, ssm } = deps;
  const runtime = deps.runtime ?? temporalRuntime;
  const polling = pollingOf(runtime, deps.pollIntervalMs ?? 2000);
  const commandOptions = () => ({ polling, resumeFrom: runtime.previousHeartbeat(), invocationGraceMs: deps.invocationGraceMs });

  return {
    /** The volume's file system if it exists; changes nothing. */
    findFileSystem: (input: { name: string }) => awsStep(() => findFileSystem(efs, input.name)),
    /** Creates the volume's file system, or finds the one an earlier attempt made (its creation token). */
    ensureFileSystem: (input: EnsureFileSystemInput) => awsStep(() => ensureFileSystem(efs, input)),
    /** Polls until the file system is available, heartbeating the state it sees. */
    awaitFileSystemAvailable: (input: { fileSystemId: string }) => awsStep(() => awaitFileSystemAvailable(efs, input.fileSystemId, polling)),
    /** Where each instance lives; an instance EC2 does not know is reported, not fatal. */
    locateInstances: (input: { instanceIds: string[] }) => awsStep(() => locateInstances(ec2, input.instanceIds)),
    /** Whether each instance's SSM agent is Online and on Linux; the others are reported with the reason. */
    checkAgents: (input: { instanceIds: string[] }) => awsStep(() => checkAgents(ssm, input.instanceIds)),
    /** Finds or creates the NFS security group, then admits every missing source on TCP 2049. */
    ensureNfsSecurityGroup: (input: EnsureNfsSecurityGroupInput) => awsStep(() => ensureNfsSecurityGroup(ec2, input)),
    /** One mount target per availability zone of the subnets, each admitting the security group. */
    ensureMountTargets: (input: EnsureMountTargetsInput) => awsStep(() => ensureMountTargets(efs, ec2, input)),
    /** Polls until every mount target is available, heartbeating the ones it waits for. */
    awaitMountTargetsAvailable: (input: { fileSystemId: string }) => awsStep(() => awaitMountTargetsAvailable(efs, input.fileSystemId, polling)),
    /**
     * Runs one step's script on one instance through SSM and waits for its exit code. It heartbeats the
     * command id, so a retried attempt resumes from the previous attempt's last heartbeat and polls that
     * command instead of sending another.
     */
    runStepOnInstance: (input: RunStepInput) => awsStep(() => runStep(ssm, input, commandOptions())),
    /**
     * Installs a Distributor package (AWS-ConfigureAWSPackage, action=Install) on one instance, polled and
     * resumed from the last heartbeat like a step.
     */
    installPackageOnInstance: (input: InstallPackageInput) => awsStep(() => installPackage(ssm, input, commandOptions())),
  };
}

export type EfsActivities = ReturnType<typeof createEfsActivities>;
export type { ActivityRuntime } from './runtime';
export { plainRuntime } from './runtime';
