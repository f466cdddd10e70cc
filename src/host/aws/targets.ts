import type { EC2Client } from '@aws-sdk/client-ec2';
import type { FleetSelection } from '../../domain/efs/fleet';
import { findTaggedInstances, type TaggedInstances } from './taggedInstances';

export interface ResolvedTargets {
  /** The explicit IDs and the tagged instances, once each, sorted: the order plans and workflow IDs use. */
  instanceIds: string[];
  /** The instances the tags found now (empty without tags). */
  tagged: string[];
  passedOver: TaggedInstances['passedOver'];
}

/** The instances a run acts on now: explicit IDs as given (EC2 checks them later), tags through DescribeInstances. */
export async function resolveTargets(ec2: EC2Client, selection: FleetSelection): Promise<ResolvedTargets> {
  const found = selection.tags?.length ? await findTaggedInstances(ec2, selection.tags) : { instanceIds: [], passedOver: [] };
  const instanceIds = [...new Set([...selection.instanceIds, ...found.instanceIds])].sort();
  return { instanceIds, tagged: found.instanceIds, passedOver: found.passedOver };
}
