import { EC2Client, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import { describeTagSelectors, tagFilters, type TagSelector } from '../../domain/efs/tagSelectors';
import { AwsCallError } from './errors';

export interface TaggedInstances {
  /** Running Linux instances with every tag, sorted so plans and workflow IDs do not depend on EC2's order. */
  instanceIds: string[];
  /** Matching instances sharemount cannot serve, each with why (EFS through SSM shell scripts needs Linux). */
  passedOver: Array<{ instanceId: string; reason: string }>;
}

/**
 * The fleet a set of tag selectors names right now. Run at the start of each workflow run, never only at
 * `schedule create`, so instances launched since the last run are found and terminated ones are gone.
 */
export async function findTaggedInstances(ec2: EC2Client, selectors: readonly TagSelector[]): Promise<TaggedInstances> {
  const instanceIds: string[] = [];
  const passedOver: TaggedInstances['passedOver'] = [];
  try {
    for await (const page of paginateDescribeInstances({ client: ec2 }, { Filters: tagFilters(selectors) })) {
      for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        if (!instance.InstanceId) continue;
        // EC2 sets Platform only for Windows, and sends it as "windows" though the SDK's type spells "Windows".
        if (instance.Platform?.toLowerCase() === 'windows')
          passedOver.push({ instanceId: instance.InstanceId, reason: 'a Windows instance: EFS is mounted on Linux only' });
        else instanceIds.push(instance.InstanceId);
      }
    }
  } catch (error) {
    throw AwsCallError.from(`find instances tagged ${describeTagSelectors(selectors)}`, error);
  }
  return { instanceIds: [...new Set(instanceIds)].sort(), passedOver };
}
