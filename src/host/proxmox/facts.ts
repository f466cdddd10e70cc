import type { LxcConfig } from '../../domain/lxc/config';
import type { LxcFacts } from '../../domain/lxc/plan';
import { inspectHostPath } from '../hostPath';
import type { ProxmoxNode } from './node';

/**
 * Everything buildLxcPlan needs, read from the node without changing it: each mounting container's config
 * and state, the host users that owner fields name, each host path as the host shows it, and the directories
 * the node's containers bind. The CLI's plan calls this; workflows gather the same through their activities.
 */
export async function gatherLxcFacts(config: LxcConfig, node: ProxmoxNode, nodeName?: string): Promise<LxcFacts> {
  const ctids = [...new Set(config.volumes.flatMap((v) => v.mounts.map((m) => m.ctid)))].sort((a, b) => a - b);
  const users = [...new Set(config.volumes.flatMap((v) => (v.owner.kind === 'user' ? [v.owner.user] : [])))];
  const containers = await Promise.all(ctids.map((ctid) => node.containerState(ctid)));
  const hostPaths = Object.fromEntries([...new Set(config.volumes.map((v) => v.hostPath))].map((p) => [p, inspectHostPath(p)]));
  const { version, problem } = await node.pveContainerVersion();
  const facts: LxcFacts = {
    containers,
    hostUsers: node.readHostUsers(users),
    hostPaths,
    hostBinds: node.listHostBinds(),
    cluster: node.readCluster(),
    ...(version === undefined ? {} : { pveContainerVersion: version }),
    ...(problem === undefined ? {} : { pveContainerVersionProblem: problem }),
  };
  return nodeName === undefined ? facts : { node: nodeName, ...facts };
}
