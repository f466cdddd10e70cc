/**
 * DescribeInstanceInformation, which moto does not answer, for the instances registered with the emulator:
 * each one's PingStatus (Online, or ConnectionLost once the emulator "stops" it), PlatformType and its
 * /etc/os-release name and version. An instance never registered is simply not listed, as Systems Manager
 * lists only managed nodes. Filters: InstanceIds, PingStatus and PlatformTypes (Filters) and the older
 * InstanceInformationFilterList; MaxResults (5..50, default 50) and NextToken page the answer.
 */
import type { InstanceSandbox } from '../instanceSandbox';

export type PlatformType = 'Linux' | 'Windows' | 'MacOS';
export type PingStatus = 'Online' | 'ConnectionLost' | 'Inactive';

export interface ManagedNode {
  instanceId: string;
  sandbox: InstanceSandbox;
  platformType: PlatformType;
  pingStatus: PingStatus;
  lastPing: Date;
}

export interface DescribeInstanceInformationRequest {
  Filters?: Array<{ Key: string; Values: string[] }>;
  InstanceInformationFilterList?: Array<{ key: string; valueSet: string[] }>;
  MaxResults?: number;
  NextToken?: string;
}

/** The agent reads the platform from /etc/os-release (platform.PlatformName / PlatformVersion on Linux). */
export async function osRelease(sandbox: InstanceSandbox): Promise<{ name: string; version: string }> {
  const read = await sandbox.run('. /etc/os-release 2>/dev/null; printf "%s\\n%s\\n" "${NAME:-Linux}" "${VERSION_ID:-}"');
  const [name, version] = read.stdout.split('\n');
  return { name: name || 'Linux', version: version ?? '' };
}

function filtersOf(request: DescribeInstanceInformationRequest): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (const f of request.Filters ?? []) filters.set(f.Key, f.Values);
  for (const f of request.InstanceInformationFilterList ?? []) filters.set(f.key === 'PlatformTypes' ? 'PlatformTypes' : f.key, f.valueSet);
  return filters;
}

function matches(node: ManagedNode, filters: Map<string, string[]>): boolean {
  const ids = filters.get('InstanceIds');
  const ping = filters.get('PingStatus');
  const platforms = filters.get('PlatformTypes');
  return (!ids || ids.includes(node.instanceId)) && (!ping || ping.includes(node.pingStatus)) && (!platforms || platforms.includes(node.platformType));
}

export async function describeInstanceInformation(
  nodes: readonly ManagedNode[],
  request: DescribeInstanceInformationRequest,
): Promise<Record<string, unknown>> {
  const filters = filtersOf(request);
  const selected = nodes.filter((n) => matches(n, filters));
  const pageSize = Math.min(Math.max(request.MaxResults ?? 50, 5), 50);
  const start = request.NextToken ? Number(request.NextToken) : 0;
  const page = selected.slice(start, start + pageSize);
  const list = [];
  for (const node of page) {
    const platform = await osRelease(node.sandbox);
    list.push({
      InstanceId: node.instanceId,
      PingStatus: node.pingStatus,
      LastPingDateTime: node.lastPing.getTime() / 1000,
      AgentVersion: '3.3.1142.0',
      IsLatestVersion: false,
      PlatformType: node.platformType,
      PlatformName: node.platformType === 'Linux' ? platform.name : 'Microsoft Windows Server 2022 Datacenter',
      PlatformVersion: node.platformType === 'Linux' ? platform.version : '10.0.20348',
      ResourceType: 'EC2Instance',
    });
  }
  const next = start + pageSize < selected.length ? String(start + pageSize) : undefined;
  return { InstanceInformationList: list, ...(next ? { NextToken: next } : {}) };
}
