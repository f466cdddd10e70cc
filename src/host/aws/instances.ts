import { EC2Client, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import { validateInstanceIds } from '../../domain/efs/names';
import type { InstanceNetwork } from '../../domain/efs/network';
import { AwsCallError, AwsStateError, isAwsError } from './errors';

export interface UnknownInstance {
  instanceId: string;
  reason: string;
}

export interface LocatedInstances {
  found: InstanceNetwork[];
  unknown: UnknownInstance[];
}

const UNKNOWN_ID = ['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed'];

async function describeNetworks(ec2: EC2Client, instanceIds: readonly string[]): Promise<Map<string, InstanceNetwork>> {
  const found = new Map<string, InstanceNetwork>();
  for await (const page of paginateDescribeInstances({ client: ec2 }, { InstanceIds: [...instanceIds] })) {
    for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      if (!instance.SubnetId || !instance.VpcId) {
        throw new AwsStateError('instanceWithoutSubnet', `instance ${instance.InstanceId} is not in a VPC subnet; EFS mount targets live in subnets`);
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

/** EC2 refuses a whole batch over one unknown ID: one call per instance finds which. */
async function describeOneByOne(ec2: EC2Client, instanceIds: readonly string[], unknown: UnknownInstance[]): Promise<Map<string, InstanceNetwork>> {
  const networks = new Map<string, InstanceNetwork>();
  for (const id of instanceIds) {
    try {
      for (const [key, value] of await describeNetworks(ec2, [id])) networks.set(key, value);
    } catch (error) {
      if (!isAwsError(error, ...UNKNOWN_ID)) throw AwsCallError.from(`describe instance ${id}`, error);
      unknown.push({ instanceId: id, reason: `${(error as Error).name}: ${(error as Error).message}` });
    }
  }
  return networks;
}

/**
 * Where each instance lives: subnet, zone, VPC and its security groups. An instance EC2 does not know is
 * reported instead of failing the lookup, so a typo in one instance ID fails that target alone.
 */
export async function locateInstances(ec2: EC2Client, ids: readonly string[]): Promise<LocatedInstances> {
  const instanceIds = validateInstanceIds(ids);
  const unknown: UnknownInstance[] = [];
  let networks: Map<string, InstanceNetwork>;
  try {
    networks = await describeNetworks(ec2, instanceIds);
  } catch (error) {
    if (!isAwsError(error, ...UNKNOWN_ID)) throw AwsCallError.from(`describe instances ${instanceIds.join(', ')}`, error);
    networks = await describeOneByOne(ec2, instanceIds, unknown);
  }
  for (const id of instanceIds) {
    if (!networks.has(id) && !unknown.some((u) => u.instanceId === id)) unknown.push({ instanceId: id, reason: `no such instance: ${id}` });
  }
  return { found: instanceIds.filter((id) => networks.has(id)).map((id) => networks.get(id)!), unknown };
}
