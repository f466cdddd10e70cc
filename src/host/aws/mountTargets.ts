import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateMountTargetCommand,
  DescribeMountTargetSecurityGroupsCommand,
  EFSClient,
  ModifyMountTargetSecurityGroupsCommand,
  MountTargetDescription,
  paginateDescribeMountTargets,
} from '@aws-sdk/client-efs';
import { validateFileSystemId, validateSecurityGroupId, validateSubnetId } from '../../domain/efs/names';
import { AwsCallError, AwsStateError, isAwsError } from './errors';
import type { Polling } from './polling';

/** EFS allows five security groups per mount target. */
const MAX_MOUNT_TARGET_GROUPS = 5;

export interface MountTargetState {
  mountTargetId: string;
  subnetId: string;
  availabilityZone: string;
  lifeCycleState: string;
  created: boolean;
}

export interface EnsureMountTargetsInput {
  fileSystemId: string;
  subnetIds: string[];
  securityGroupId: string;
}

export interface EnsureMountTargetsResult {
  mountTargets: MountTargetState[];
  /** Existing mount targets that got the security group added. */
  securityGroupAddedTo: string[];
}

/** The clients and file system every mount-target call of one run shares. */
interface Target {
  efs: EFSClient;
  ec2: EC2Client;
  fileSystemId: string;
}

/** The file system's mount targets that are not on their way out. */
async function describeMountTargets(efs: EFSClient, fileSystemId: string): Promise<MountTargetDescription[]> {
  const all: MountTargetDescription[] = [];
  try {
    for await (const page of paginateDescribeMountTargets({ client: efs }, { FileSystemId: fileSystemId })) all.push(...(page.MountTargets ?? []));
  } catch (error) {
    throw AwsCallError.from(`describe mount targets of ${fileSystemId}`, error);
  }
  return all.filter((mt) => mt.LifeCycleState !== 'deleting' && mt.LifeCycleState !== 'deleted');
}

async function subnetZones(ec2: EC2Client, subnetIds: string[]): Promise<Map<string, string>> {
  if (subnetIds.length === 0) return new Map();
  try {
    const answer = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnetIds }));
    return new Map((answer.Subnets ?? []).map((s) => [s.SubnetId!, s.AvailabilityZone!]));
  } catch (error) {
    throw AwsCallError.from(`describe subnets ${subnetIds.join(', ')}`, error);
  }
}

/** The file system's mount targets with their zones; older answers lack the zone name, the subnet has it. */
async function mountTargetsByZone(target: Target): Promise<{ mountTarget: MountTargetDescription; zone: string }[]> {
  const existing = await describeMountTargets(target.efs, target.fileSystemId);
  const zones = await subnetZones(
    target.ec2,
    existing.filter((mt) => !mt.AvailabilityZoneName).map((mt) => mt.SubnetId!),
  );
  return existing.map((mountTarget) => ({ mountTarget, zone: mountTarget.AvailabilityZoneName ?? zones.get(mountTarget.SubnetId!) ?? '' }));
}

/**
 * Creates the zone's mount target in the subnet. Mount targets have no idempotency token, so the caller looked
 * first; a MountTargetConflict (a concurrent or earlier attempt won) is read back as the target it made.
 */
async function createMountTarget(
  target: Target,
  subnetId: string,
  zone: string,
  securityGroupId: string,
): Promise<{ mountTarget: MountTargetDescription; created: boolean }> {
  try {
    const mountTarget = await target.efs.send(
      new CreateMountTargetCommand({ FileSystemId: target.fileSystemId, SubnetId: subnetId, SecurityGroups: [securityGroupId] }),
    );
    return { mountTarget, created: true };
  } catch (error) {
    if (!isAwsError(error, 'MountTargetConflict')) throw AwsCallError.from(`create mount target for ${target.fileSystemId} in ${subnetId}`, error);
    const winner = (await mountTargetsByZone(target)).find((t) => t.zone === zone || t.mountTarget.SubnetId === subnetId);
    if (!winner) throw AwsCallError.from(`create mount target in ${subnetId}`, error);
    return { mountTarget: winner.mountTarget, created: false };
  }
}

/** Adds the security group to an existing mount target that lacks it; true when it was added. */
async function ensureMountTargetGroup(efs: EFSClient, mountTargetId: string, securityGroupId: string): Promise<boolean> {
  let groups: string[];
  try {
    groups = (await efs.send(new DescribeMountTargetSecurityGroupsCommand({ MountTargetId: mountTargetId }))).SecurityGroups ?? [];
  } catch (error) {
    throw AwsCallError.from(`describe security groups of mount target ${mountTargetId}`, error);
  }
  if (groups.includes(securityGroupId)) return false;
  if (groups.length >= MAX_MOUNT_TARGET_GROUPS) {
    throw new AwsStateError(
      'mountTargetGroupsFull',
      `mount target ${mountTargetId} already has ${MAX_MOUNT_TARGET_GROUPS} security groups; add ${securityGroupId} by hand`,
    );
  }
  try {
    await efs.send(new ModifyMountTargetSecurityGroupsCommand({ MountTargetId: mountTargetId, SecurityGroups: [...groups, securityGroupId] }));
  } catch (error) {
    throw AwsCallError.from(`add ${securityGroupId} to mount target ${mountTargetId}`, error);
  }
  return true;
}

/**
 * One mount target per availability zone of the given subnets, each admitting the security group: existing
 * ones are kept (and get the group if they lack it), missing ones are created in the first subnet of the zone.
 */
export async function ensureMountTargets(efs: EFSClient, ec2: EC2Client, input: EnsureMountTargetsInput): Promise<EnsureMountTargetsResult> {
  const target: Target = { efs, ec2, fileSystemId: validateFileSystemId(input.fileSystemId) };
  const subnetIds = [...new Set(input.subnetIds.map((s) => validateSubnetId(s, 'mount target subnet (the subnet of an instance)')))];
  const securityGroupId = validateSecurityGroupId(input.securityGroupId, 'NFS security group of the mount targets');
  const zoneOf = await subnetZones(ec2, subnetIds);
  const unknown = subnetIds.filter((s) => !zoneOf.has(s));
  if (unknown.length > 0) throw new AwsStateError('unknownSubnet', `no such subnet: ${unknown.join(', ')}`);

  const existing = await mountTargetsByZone(target);
  const result: EnsureMountTargetsResult = { mountTargets: [], securityGroupAddedTo: [] };
  for (const subnetId of subnetIds) {
    const zone = zoneOf.get(subnetId)!;
    if (result.mountTargets.some((mt) => mt.availabilityZone === zone)) continue;
    const found = existing.find((t) => t.zone === zone);
    const { mountTarget, created } = found
      ? { mountTarget: found.mountTarget, created: false }
      : await createMountTarget(target, subnetId, zone, securityGroupId);
    if (!created && (await ensureMountTargetGroup(efs, mountTarget.MountTargetId!, securityGroupId)))
      result.securityGroupAddedTo.push(mountTarget.MountTargetId!);
    result.mountTargets.push({
      mountTargetId: mountTarget.MountTargetId!,
      subnetId: mountTarget.SubnetId ?? subnetId,
      availabilityZone: zone,
      lifeCycleState: mountTarget.LifeCycleState ?? 'unknown',
      created,
    });
  }
  return result;
}

/** Polls until every mount target of the file system is available (a fresh one takes about a minute). */
export async function awaitMountTargetsAvailable(efs: EFSClient, id: string, polling: Polling): Promise<MountTargetState[]> {
  const fileSystemId = validateFileSystemId(id);
  for (;;) {
    const targets = await describeMountTargets(efs, fileSystemId);
    const broken = targets.filter((mt) => mt.LifeCycleState === 'error');
    if (broken.length > 0) throw new AwsStateError('mountTargetError', `mount targets in error state: ${broken.map((mt) => mt.MountTargetId).join(', ')}`);
    const waiting = targets.filter((mt) => mt.LifeCycleState !== 'available');
    if (waiting.length === 0) {
      return targets.map((mt) => ({
        mountTargetId: mt.MountTargetId!,
        subnetId: mt.SubnetId!,
        availabilityZone: mt.AvailabilityZoneName ?? '',
        lifeCycleState: mt.LifeCycleState!,
        created: false,
      }));
    }
    polling.report({ fileSystemId, waitingFor: waiting.map((mt) => `${mt.MountTargetId}:${mt.LifeCycleState}`) });
    await polling.sleep(polling.intervalMs);
  }
}
