import type { LxcConfig } from '../../domain/lxc/config';
import type { LxcFacts } from '../../domain/lxc/plan';
import type { LxcActivities } from './index';

/**
 * Everything buildLxcPlan needs, read from the host without changing it: each mounting container's config
 * and state, the host users that owner fields name, and each host path as the host shows it. For `plan` (called directly) and for workflows
 * (which can call the two activities themselves and assemble the same object).
 */
export async function gatherLxcFacts(
  config: LxcConfig,
  activities: Pick<LxcActivities, 'inspectContainer' | 'readHostUsers' | 'inspectHostPaths' | 'listHostBinds'>,
  node?: string,
): Promise<LxcFacts> {
  const ctids = [...new Set(config.volumes.flatMap((v) => v.mounts.map((m) => m.ctid)))].sort((a, b) => a - b);
  const users = [...new Set(config.volumes.flatMap((v) => (v.owner.kind === 'user' ? [v.owner.user] : [])))];
  const containers = await Promise.all(ctids.map((ctid) => activities.inspectContainer(ctid)));
  const hostUsers = await activities.readHostUsers(users);
  const hostPaths = await activities.inspectHostPaths([...new Set(config.volumes.map((v) => v.hostPath))]);
  const hostBinds = await activities.listHostBinds();
  const facts = { containers, hostUsers, hostPaths, hostBinds };
  return node === undefined ? facts : { node, ...facts };
}
