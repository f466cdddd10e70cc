import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  IpPermission,
  paginateDescribeInstances,
  SecurityGroup,
} from '@aws-sdk/client-ec2';
import {
  CreateMountTargetCommand,
  DescribeMountTargetSecurityGroupsCommand,
  EFSClient,
  ModifyMountTargetSecurityGroupsCommand,
  MountTargetDescription,
  paginateDescribeMountTargets,
} from '@aws-sdk/client-efs';
import { InputError } from '../../domain/errors';
import {
  validateFileSystemId,
  validateInstanceIds,
  validateIpv4Cidr,
  validateSecurityGroupId,
  validateSubnetId,
  validateVpcId,
} from '../../domain/efs/names';
import type { InstanceNetwork } from '../../domain/efs/network';
import { ActivityRuntime, awsFailure, isAwsError, nonRetryable } from './runtime';

const NFS_PORT = 2049;
const SECURITY_GROUP_NAME = /^[A-Za-z0-9._-]{1,255}$/;

export interface EnsureNfsSecurityGroupInput {
  /** The group's name, unique in the VPC (e.g. sharemount-<volume>-nfs). */
  name: string;
  vpcId: string;
  /** Sources allowed to reach TCP 2049. Neither given: the VPC's own CIDR blocks. */
  sourceCidrs?: string[];
  sourceGroupIds?: string[];
  tags?: Record<string, string>;
}

export interface EnsureNfsSecurityGroupResult {
  securityGroupId: string;
  created: boolean;
  /** The sources this call admitted, e.g. "10.0.0.0/16" or "sg-0abc"; empty when all were already there. */
  rulesAdded: string[];
}

export interface MountTargetState {
  mountTargetId: string;
  subnetId: string;
  availabilityZone: string;
  lifeCycleState: string;
  created: boolean;
}

export interface EnsureMountTargetsResult {
  mountTargets: MountTargetState[];
  /** Existing mount targets that got the security group added. */
  securityGroupAddedTo: string[];
}

function coversNfs(permission: IpPermission): boolean {
  if (permission.IpProtocol === '-1') return true;
  if (permission.IpProtocol !== 'tcp' && permission.IpProtocol !== '6') return false;
  return (permission.FromPort ?? 0) <= NFS_PORT && NFS_PORT <= (permission.ToPort ?? 65535);
}

function nfsRule(source: { cidr?: string; groupId?: string }): IpPermission {
  return {
    IpProtocol: 'tcp',
    FromPort: NFS_PORT,
    ToPort: NFS_PORT,
    ...(source.cidr ? { IpRanges: [{ CidrIp: source.cidr, Description: 'NFS for sharemount' }] } : {}),
    ...(source.groupId ? { UserIdGroupPairs: [{ GroupId: source.groupId, Description: 'NFS for sharemount' }] } : {}),
  };
}


export interface UnknownInstance {
  instanceId: string;
  reason: string;
}

export function networkActivities(deps: { ec2: EC2Client; efs: EFSClient; runtime: ActivityRuntime; pollIntervalMs: number }) {
  const { ec2, efs, runtime, pollIntervalMs } = deps;

  async function findGroup(name: string, vpcId: string): Promise<SecurityGroup | undefined> {
    try {
      const answer = await ec2.send(
        new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }, { Name: 'vpc-id', Values: [vpcId] }] }),
      );
      return answer.SecurityGroups?.[0];
    } catch (error) {
      throw awsFailure(`look up security group ${name} in ${vpcId}`, error);
    }
  }

  async function describeMountTargets(fileSystemId: string): Promise<MountTargetDescription[]> {
    const all: MountTargetDescription[] = [];
    try {
      for await (const page of paginateDescribeMountTargets({ client: efs }, { FileSystemId: fileSystemId })) all.push(...(page.MountTargets ?? []));
    } catch (error) {
      throw awsFailure(`describe mount targets of ${fileSystemId}`, error);
    }
    return all.filter((mt) => mt.LifeCycleState !== 'deleting' && mt.LifeCycleState !== 'deleted');
  }

  async function subnetZones(subnetIds: string[]): Promise<Map<string, string>> {
    if (subnetIds.length === 0) return new Map();
    try {
      const answer = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnetIds }));
      return new Map((answer.Subnets ?? []).map((s) => [s.SubnetId!, s.AvailabilityZone!]));
    } catch (error) {
      throw awsFailure(`describe subnets ${subnetIds.join(', ')}`, error);
    }
  }

  async function describeNetworks(instanceIds: readonly string[]): Promise<Map<string, InstanceNetwork>> {
    const found = new Map<string, InstanceNetwork>();
    for await (const page of paginateDescribeInstances({ client: ec2 }, { InstanceIds: [...instanceIds] })) {
      for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        if (!instance.SubnetId || !instance.VpcId) {
          throw nonRetryable(`instance ${instance.InstanceId} is not in a VPC subnet; EFS mount targets live in subnets`, 'instance-without-subnet');
        }
        found.set(instance.InstanceId!, {
          instanceId: instance.InstanceId!,
          subnetId: instance.SubnetId,
          availabilityZone: instance.Placement?.AvailabilityZone ?? '',
          vpcId: instance.VpcId,
          securityGroupIds: (instance.SecurityGroups ?? []).map((g) => g.GroupId!).filter(Boolean),
        });
      }
    }
    return found;
  }

  /** One call for all; when EC2 refuses the batch over an unknown ID, one call per instance finds which. */
  async function locate(instanceIds: readonly string[]): Promise<{ found: InstanceNetwork[]; unknown: UnknownInstance[] }> {
    let networks: Map<string, InstanceNetwork>;
    const unknown: UnknownInstance[] = [];
    try {
      networks = await describeNetworks(instanceIds);
    } catch (error) {
      if (!isAwsError(error, 'InvalidInstanceID.NotFound') && !isAwsError(error, 'InvalidInstanceID.Malformed')) throw awsFailure(`describe instances ${instanceIds.join(', ')}`, error);
      networks = new Map();
      for (const id of instanceIds) {
        try {
          for (const [key, value] of await describeNetworks([id])) networks.set(key, value);
        } catch (single) {
          if (!isAwsError(single, 'InvalidInstanceID.NotFound') && !isAwsError(single, 'InvalidInstanceID.Malformed')) throw awsFailure(`describe instance ${id}`, single);
          unknown.push({ instanceId: id, reason: `${(single as Error).name}: ${(single as Error).message}` });
        }
      }
    }
    for (const id of instanceIds) {
      if (!networks.has(id) && !unknown.some((u) => u.instanceId === id)) unknown.push({ instanceId: id, reason: `no such instance: ${id}` });
    }
    return { found: instanceIds.filter((id) => networks.has(id)).map((id) => networks.get(id)!), unknown };
  }

  return {
    /**
     * Where each instance lives: subnet, zone, VPC and its security groups. An instance EC2 does not know is
     * reported instead of failing the lookup, so a typo in one instance ID fails that target alone and the
     * others are still mounted.
     */
    async locateInstances(input: { instanceIds: string[] }): Promise<{ found: InstanceNetwork[]; unknown: UnknownInstance[] }> {
      return locate(validateInstanceIds(input.instanceIds));
    },

    /** Finds the group by name in the VPC, or creates it; then admits every missing source on TCP 2049. */
    async ensureNfsSecurityGroup(input: EnsureNfsSecurityGroupInput): Promise<EnsureNfsSecurityGroupResult> {
      if (!SECURITY_GROUP_NAME.test(input.name) || input.name.startsWith('sg-')) {
        throw new InputError('security group name', `${JSON.stringify(input.name)} is not a usable security group name`);
      }
      const vpcId = validateVpcId(input.vpcId);
      let sourceCidrs = (input.sourceCidrs ?? []).map((c) => validateIpv4Cidr(c, 'NFS source CIDR block'));
      const sourceGroupIds = (input.sourceGroupIds ?? []).map((g) => validateSecurityGroupId(g, 'NFS source security group (a security group of an instance)'));
      if (sourceCidrs.length === 0 && sourceGroupIds.length === 0) {
        try {
          const vpc = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))).Vpcs?.[0];
          sourceCidrs = (vpc?.CidrBlockAssociationSet ?? []).map((a) => a.CidrBlock!).filter(Boolean);
          if (sourceCidrs.length === 0 && vpc?.CidrBlock) sourceCidrs = [vpc.CidrBlock];
        } catch (error) {
          throw awsFailure(`describe VPC ${vpcId}`, error);
        }
      }

      let group = await findGroup(input.name, vpcId);
      let created = false;
      if (!group) {
        try {
          await ec2.send(
            new CreateSecurityGroupCommand({
              GroupName: input.name,
              Description: `sharemount: NFS (TCP ${NFS_PORT}) to EFS mount targets`,
              VpcId: vpcId,
              TagSpecifications: [
                { ResourceType: 'security-group', Tags: Object.entries({ ...input.tags, Name: input.name }).map(([Key, Value]) => ({ Key, Value })) },
              ],
            }),
          );
          created = true;
        } catch (error) {
          if (!isAwsError(error, 'InvalidGroup.Duplicate')) throw awsFailure(`create security group ${input.name}`, error);
        }
        group = await findGroup(input.name, vpcId);
        if (!group) throw awsFailure(`find security group ${input.name}`, Object.assign(new Error('created but not visible yet'), { name: 'DependencyTimeout' }));
      }

      const rules = (group.IpPermissions ?? []).filter(coversNfs);
      const hasCidr = (cidr: string) => rules.some((r) => (r.IpRanges ?? []).some((range) => range.CidrIp === cidr));
      const hasGroup = (groupId: string) => rules.some((r) => (r.UserIdGroupPairs ?? []).some((pair) => pair.GroupId === groupId));
      const missing: { cidr?: string; groupId?: string }[] = [
        ...sourceCidrs.filter((c) => !hasCidr(c)).map((cidr) => ({ cidr })),
        ...sourceGroupIds.filter((g) => !hasGroup(g)).map((groupId) => ({ groupId })),
      ];
      const rulesAdded: string[] = [];
      for (const source of missing) {
        try {
          await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: group.GroupId, IpPermissions: [nfsRule(source)] }));
          rulesAdded.push(source.cidr ?? source.groupId!);
        } catch (error) {
          if (!isAwsError(error, 'InvalidPermission.Duplicate')) throw awsFailure(`admit NFS from ${source.cidr ?? source.groupId}`, error);
        }
      }
      return { securityGroupId: group.GroupId!, created, rulesAdded };
    },

    /**
     * One mount target per availability zone of the given subnets. Mount targets have no idempotency token,
     * so we look before we create, and a MountTargetConflict (a concurrent or earlier attempt won) is read
     * back as success. Existing mount targets get the security group added if they lack it.
     */
    async ensureMountTargets(input: { fileSystemId: string; subnetIds: string[]; securityGroupId: string }): Promise<EnsureMountTargetsResult> {
      const fileSystemId = validateFileSystemId(input.fileSystemId);
      const subnetIds = [...new Set(input.subnetIds.map((s) => validateSubnetId(s, 'mount target subnet (the subnet of an instance)')))];
      const securityGroupId = validateSecurityGroupId(input.securityGroupId, 'NFS security group of the mount targets');
      const zoneOf = await subnetZones(subnetIds);
      const unknown = subnetIds.filter((s) => !zoneOf.has(s));
      if (unknown.length > 0) throw nonRetryable(`no such subnet: ${unknown.join(', ')}`, 'unknown-subnet');

      let existing = await describeMountTargets(fileSystemId);
      const existingZones = await subnetZones(existing.filter((mt) => !mt.AvailabilityZoneName).map((mt) => mt.SubnetId!));
      const zoneOfTarget = (mt: MountTargetDescription) => mt.AvailabilityZoneName ?? existingZones.get(mt.SubnetId!) ?? '';
      const result: EnsureMountTargetsResult = { mountTargets: [], securityGroupAddedTo: [] };

      for (const subnetId of subnetIds) {
        const zone = zoneOf.get(subnetId)!;
        if (result.mountTargets.some((mt) => mt.availabilityZone === zone)) continue;
        let target = existing.find((mt) => zoneOfTarget(mt) === zone);
        let created = false;
        if (!target) {
          try {
            target = await efs.send(new CreateMountTargetCommand({ FileSystemId: fileSystemId, SubnetId: subnetId, SecurityGroups: [securityGroupId] }));
            created = true;
          } catch (error) {
            if (!isAwsError(error, 'MountTargetConflict')) throw awsFailure(`create mount target for ${fileSystemId} in ${subnetId}`, error);
            existing = await describeMountTargets(fileSystemId);
            target = existing.find((mt) => zoneOfTarget(mt) === zone || mt.SubnetId === subnetId);
            if (!target) throw awsFailure(`create mount target in ${subnetId}`, error);
          }
        }
        if (!created) {
          let groups: string[];
          try {
            groups = (await efs.send(new DescribeMountTargetSecurityGroupsCommand({ MountTargetId: target.MountTargetId }))).SecurityGroups ?? [];
          } catch (error) {
            throw awsFailure(`describe security groups of mount target ${target.MountTargetId}`, error);
          }
          if (!groups.includes(securityGroupId)) {
            if (groups.length >= 5) throw nonRetryable(`mount target ${target.MountTargetId} already has 5 security groups; add ${securityGroupId} by hand`, 'mount-target-groups-full');
            try {
              await efs.send(new ModifyMountTargetSecurityGroupsCommand({ MountTargetId: target.MountTargetId, SecurityGroups: [...groups, securityGroupId] }));
            } catch (error) {
              throw awsFailure(`add ${securityGroupId} to mount target ${target.MountTargetId}`, error);
            }
            result.securityGroupAddedTo.push(target.MountTargetId!);
          }
        }
        result.mountTargets.push({
          mountTargetId: target.MountTargetId!,
          subnetId: target.SubnetId ?? subnetId,
          availabilityZone: zone,
          lifeCycleState: target.LifeCycleState ?? 'unknown',
          created,
        });
      }
      return result;
    },

    /** Polls until every mount target of the file system is available; a fresh one takes about a minute. */
    async awaitMountTargetsAvailable(input: { fileSystemId: string }): Promise<MountTargetState[]> {
      const fileSystemId = validateFileSystemId(input.fileSystemId);
      for (;;) {
        const targets = await describeMountTargets(fileSystemId);
        const broken = targets.filter((mt) => mt.LifeCycleState === 'error');
        if (broken.length > 0) throw nonRetryable(`mount targets in error state: ${broken.map((mt) => mt.MountTargetId).join(', ')}`, 'mount-target-error');
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
        runtime.heartbeat({ fileSystemId, waitingFor: waiting.map((mt) => `${mt.MountTargetId}:${mt.LifeCycleState}`) });
        await runtime.sleep(pollIntervalMs);
      }
    },
  };
}
