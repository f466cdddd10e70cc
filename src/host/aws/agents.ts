import { paginateDescribeInstanceInformation, SSMClient } from '@aws-sdk/client-ssm';
import { agentReadiness, type AgentInformation, type AgentReadiness } from '../../domain/efs/agents';
import { validateInstanceIds } from '../../domain/efs/names';
import { AwsCallError } from './errors';

/** The InstanceIds filter takes at most 50 values (DescribeInstanceInformation's limit). */
const FILTER_VALUES = 50;

async function describeAgents(ssm: SSMClient, instanceIds: readonly string[]): Promise<AgentInformation[]> {
  const out: AgentInformation[] = [];
  for (let i = 0; i < instanceIds.length; i += FILTER_VALUES) {
    const batch = instanceIds.slice(i, i + FILTER_VALUES);
    const pages = paginateDescribeInstanceInformation({ client: ssm, pageSize: 50 }, { Filters: [{ Key: 'InstanceIds', Values: batch }] });
    for await (const page of pages) {
      for (const info of page.InstanceInformationList ?? []) {
        if (!info.InstanceId) continue;
        out.push({
          instanceId: info.InstanceId,
          pingStatus: info.PingStatus,
          platformType: info.PlatformType,
          platformName: info.PlatformName,
          platformVersion: info.PlatformVersion,
          agentVersion: info.AgentVersion,
        });
      }
    }
  }
  return out;
}

/**
 * Asks Systems Manager, before any command, whether each instance's agent is Online and on Linux. An instance
 * it does not list is not registered; each one that is not ready is reported with its reason, not thrown.
 */
export async function checkAgents(ssm: SSMClient, ids: readonly string[]): Promise<AgentReadiness> {
  const instanceIds = validateInstanceIds(ids);
  try {
    return agentReadiness(instanceIds, await describeAgents(ssm, instanceIds));
  } catch (error) {
    throw AwsCallError.from(`describe the SSM agents of ${instanceIds.join(', ')}`, error);
  }
}
