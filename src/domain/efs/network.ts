/**
 * Where the mount targets go. An EFS file system has at most one mount target per availability zone, all in
 * one VPC; an instance reaches the one in its own zone.
 */
import { InputError } from '../errors';
import { validateSubnetIds } from './names';

export interface InstanceNetwork {
  instanceId: string;
  subnetId: string;
  availabilityZone: string;
  vpcId: string;
  /** The instance's own security groups: the natural NFS sources for the mount targets' group. */
  securityGroupIds: string[];
}

export interface MountTargetSubnets {
  vpcId: string;
  /** One subnet per availability zone, the first instance's (in the given order) for each zone. */
  subnets: { subnetId: string; availabilityZone: string }[];
}

/**
 * The mount targets' subnets: the ones given (`efs create --subnet`, whose zones EFS reads itself), else the
 * first instance's subnet in each of the instances' zones. The instances decide the VPC either way.
 */
export function chooseMountTargetSubnets(
  instances: readonly InstanceNetwork[],
  subnetIds: readonly string[] = [],
  /** The CLI's name for the instances: `--instance` for efs create, `<instance-id>` for efs mount. */
  instanceField = '<instance-id>',
): MountTargetSubnets {
  if (instances.length === 0) throw new InputError(instanceField, 'name at least one instance: the mount targets go into the subnets of the instances');
  const vpcs = [...new Set(instances.map((i) => i.vpcId))];
  if (vpcs.length > 1) {
    const byVpc = vpcs.map(
      (vpc) =>
        `${vpc}: ${instances
          .filter((i) => i.vpcId === vpc)
          .map((i) => i.instanceId)
          .join(', ')}`,
    );
    throw new InputError(instanceField, `the instances are in ${vpcs.length} VPCs (${byVpc.join('; ')}); one file system serves one VPC`);
  }
  if (subnetIds.length > 0) {
    const given = validateSubnetIds(subnetIds, '--subnet');
    return {
      vpcId: vpcs[0],
      subnets: given.map((subnetId) => ({ subnetId, availabilityZone: instances.find((i) => i.subnetId === subnetId)?.availabilityZone ?? '' })),
    };
  }
  const subnets: MountTargetSubnets['subnets'] = [];
  for (const instance of instances) {
    if (!subnets.some((s) => s.availabilityZone === instance.availabilityZone)) {
      subnets.push({ subnetId: instance.subnetId, availabilityZone: instance.availabilityZone });
    }
  }
  return { vpcId: vpcs[0], subnets };
}

/** The instances' security groups, deduplicated and sorted, as NFS sources for the mount targets' group. */
export function nfsSourceGroups(instances: readonly InstanceNetwork[]): string[] {
  return [...new Set(instances.flatMap((i) => i.securityGroupIds))].sort();
}
